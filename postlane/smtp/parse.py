"""Turn a received MIME message plus its envelope into a Submission.

Postmark's X-PM-* headers choose the stream, tag, metadata and tracking. Field limits
and the tracking values follow domain.limits, the rules the REST API applies too; where
a header cannot be refused as a JSON field is (NUL, an unknown X-PM-TrackLinks), this
stores what it can, as limits' docstring says. So too for a line break that an RFC 2047
word decodes to (``=?utf-8?q?Hi=0D=0ABcc:_x@y?=``): REST refuses a Subject or Tag with
one; here every character of limits.LINE_BREAKS in a decoded header value is stored as
a space, so no stored field (Subject, Tag, Metadata, addresses) holds one. The message
itself is kept as it came (its encoded word stays encoded). A part in a charset Python
does not know is decoded as UTF-8 with replacement characters: stored, not refused.

The shape of a message is bounded (MAX_HEADER_FIELDS, MAX_MIME_DEPTH, MAX_MIME_PARTS):
the email package's parser is pure Python, so 200,000 header lines or 20,000 parts cost
it seconds, and deep nesting ends in a RecursionError. Beyond a limit the parse stops
where it is and the message gets a permanent 554 5.6.0 (it would fail the same way on
every retry). Small single-part messages are parsed where they arrive (``is_light``);
the others on a thread (smtp/handler.py), so that no message holds up the event loop.
"""

from __future__ import annotations

import contextlib
import email.policy
import re
from email.errors import HeaderParseError
from email.feedparser import BytesFeedParser
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import Policy, compat32
from typing import TYPE_CHECKING, Any

from postlane.accept import Submission
from postlane.domain import addresses, limits
from postlane.domain.types import DeliveryType, Source

_META_PREFIX = "x-pm-metadata-"
_FOLD = re.compile(r"\r?\n[ \t]+")
#: Line breaks in a decoded header value become spaces (NUL is without_nul's).
_NO_BREAKS = str.maketrans({ch: " " for ch in limits.LINE_BREAKS if ch != "\0"})

#: Header fields in the whole message, its parts' included. Real mail has some 20 to 60
#: at the top (Postfix stops a loop at 50 Received headers) and two or three a part.
MAX_HEADER_FIELDS = 1000
#: Levels of MIME entities, the message itself the first. Real mail rarely goes past
#: 10; half of Postfix's mime_nesting_limit (100), since parsing time grows with the
#: square of the depth here (600 levels took 1 s).
MAX_MIME_DEPTH = 50
#: Entities in the message, containers included: Exchange Online's 250 attachments a
#: message. 500 parts already cost 0.4 s to parse.
MAX_MIME_PARTS = 250
#: Messages up to this size that are neither multipart/* nor message/* at the top are
#: parsed on the event loop: a few milliseconds at most within the limits above, and
#: no thread hand-off for the common small message.
INLINE_BYTES = 32 * 1024

class MalformedMessage(ValueError):
    """The message cannot be read; the text says why (a 554 5.6.0 reply)."""

    summary = "Malformed message"


class TooComplex(MalformedMessage):
    """The message's shape is beyond one of the limits above."""

    summary = "Message too complex"


if TYPE_CHECKING:  # generic in typeshed only
    _Parser = BytesFeedParser[Message]
else:
    _Parser = BytesFeedParser


class _BoundedParser(_Parser):
    """The email package's parser, stopped as soon as a limit is passed. It counts where
    the parser makes each entity (``_new_message``) and reads each header block
    (``_parse_headers``): private methods, unchanged since Python 3.2."""

    def __init__(self, policy: Policy[Any]) -> None:
        super().__init__(policy=policy)
        self._parts = self._fields = 0

    def _new_message(self) -> None:
        self._parts += 1
        if self._parts > MAX_MIME_PARTS:
            raise TooComplex(f"more than {MAX_MIME_PARTS} MIME parts")
        if len(self._msgstack) >= MAX_MIME_DEPTH:  # type: ignore[attr-defined]
            raise TooComplex(f"MIME parts nested more than {MAX_MIME_DEPTH} levels deep")
        super()._new_message()  # type: ignore[misc]

    def _parse_headers(self, lines: list[str]) -> None:
        self._fields += sum(1 for line in lines if line[:1] not in (" ", "\t"))
        _check_fields(self._fields)
        super()._parse_headers(lines)  # type: ignore[misc]


def _check_fields(count: int) -> None:
    if count > MAX_HEADER_FIELDS:
        raise TooComplex(f"more than {MAX_HEADER_FIELDS} header fields")


def _parse(raw: bytes, policy: Policy[Any]) -> Message:
    parser = _BoundedParser(policy)
    parser.feed(raw)
    msg: Message = parser.close()
    return msg


def _header_end(raw: bytes) -> int:
    """Where the top-level header ends: its first empty line (the whole message if none)."""
    ends = [at for at in (raw.find(b"\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    return min(ends) if ends else len(raw)


def _precheck(raw: bytes) -> None:
    """Count the top-level header's fields in C before the parser reads them one by one
    in Python: 200,000 of them are refused in a millisecond, not a second. (Lines before
    the first empty line that do not start with white space; the parser counts its own
    way afterwards.)"""
    head = raw[:_header_end(raw)]
    _check_fields(head.count(b"\n") + 1 - head.count(b"\n ") - head.count(b"\n\t"))


def is_light(raw: bytes) -> bool:
    """Whether ``raw`` is cheap enough to parse on the event loop (INLINE_BYTES)."""
    if len(raw) > INLINE_BYTES:
        return False
    head = raw[:_header_end(raw)].lower()
    return b"multipart/" not in head and b"message/" not in head


def _text(payload: bytes, charset: str | None) -> str:
    """A text part's content: in its charset, or UTF-8 when Python knows no such one."""
    try:
        text = payload.decode(charset or "utf-8", "replace")
    except LookupError:  # unknown, or a codec that is no text encoding (base64)
        text = payload.decode("utf-8", "replace")
    return limits.without_nul(text)


def _decode(value: str) -> str:
    """A raw header value as text: unfolded, RFC 2047 words decoded."""
    value = _FOLD.sub(" ", value).strip()
    if not value.isascii():  # raw UTF-8 (SMTPUTF8) arrives as surrogate escapes
        value = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
    if "=?" in value:
        # A broken encoded word (bad base64, unknown charset) is kept as written.
        with contextlib.suppress(HeaderParseError, LookupError, UnicodeError):
            value = str(make_header(decode_header(value)))
    return value


def _headers(msg: Message) -> dict[str, str]:
    """First occurrence of each header, lower-cased names, decoded values."""
    out: dict[str, str] = {}
    # raw_items: compat32 would wrap 8-bit values in Header objects; we want the text.
    for name, value in msg.raw_items():
        out.setdefault(name.lower(),
                       limits.without_nul(_decode(str(value)).translate(_NO_BREAKS)))
    return out


def _single_part_text(msg: Message) -> tuple[str | None, str | None]:
    """Bodies of a one-part message without building the full object model."""
    payload = msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None, None
    text = _text(payload, msg.get_content_charset())
    subtype = msg.get_content_subtype()
    return (text, None) if subtype == "plain" else (None, text if subtype == "html" else None)


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    try:
        content = part.get_content()
    except LookupError:  # a charset Python does not know
        payload = part.get_payload(decode=True)
        return _text(payload, None) if isinstance(payload, bytes) else None
    return limits.without_nul(content) if isinstance(content, str) else None


def _multipart(raw: bytes) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """Multipart mail needs the full parser to find bodies and attachments."""
    msg = _parse(raw, email.policy.default)
    assert isinstance(msg, EmailMessage)
    attachments = [{"Name": limits.without_nul(part.get_filename() or ""),
                    "ContentType": part.get_content_type(),
                    "ContentLength": len(part.get_payload(decode=True) or b"")}
                   for part in msg.iter_attachments()]
    return _body(msg, "plain"), _body(msg, "html"), attachments


def to_submission(raw: bytes, mail_from: str, rcpt_tos: list[str], server_id: int,
                  delivery_type: DeliveryType) -> Submission:
    """The message as a Submission; MalformedMessage (TooComplex) when it is refused."""
    _precheck(raw)
    try:
        # compat32 keeps header values as strings: much cheaper than building header
        # objects, and we only need a few of them.
        msg = _parse(raw, compat32)
        headers = _headers(msg)
        to_field, cc_field = headers.get("to", ""), headers.get("cc", "")
        visible = {addresses.normalize(a) for _, a in
                   addresses.parse_list(to_field) + addresses.parse_list(cc_field)}
        metadata = {k[len(_META_PREFIX):]: v for k, v in headers.items()
                    if k.startswith(_META_PREFIX)}
        attachments: list[dict[str, Any]] = []
        if msg.is_multipart():
            text_body, html_body, attachments = _multipart(raw)
        else:
            text_body, html_body = _single_part_text(msg)
    except MalformedMessage:
        raise
    except RecursionError as exc:  # within the depth limit, but in case: never a 451
        raise TooComplex("MIME structure too deep to read") from exc
    except (ValueError, TypeError, LookupError, AssertionError) as exc:
        raise MalformedMessage(str(exc) or "unparseable message") from exc
    problem = limits.too_long(From=headers.get("from", ""), ReplyTo=headers.get("reply-to", ""),
                              Subject=headers.get("subject", ""), Tag=headers.get("x-pm-tag", ""))
    if problem:
        raise MalformedMessage(problem)
    track_links = limits.track_links_as_given(headers.get("x-pm-tracklinks", "")) or "None"
    return Submission(
        server_id=server_id, delivery_type=delivery_type,
        stream=(headers.get("x-pm-message-stream") or "outbound").lower(),
        source=Source.SMTP, from_field=headers.get("from") or mail_from,
        recipients=list(rcpt_tos), to_field=to_field, cc_field=cc_field,
        bcc_field=", ".join(r for r in rcpt_tos if addresses.normalize(r) not in visible),
        reply_to=headers.get("reply-to", ""), subject=headers.get("subject", ""),
        tag=headers.get("x-pm-tag", ""), metadata=metadata,
        text_body=text_body, html_body=html_body, attachments=attachments, raw=raw,
        size=len(raw), track_opens=limits.header_switch(headers.get("x-pm-trackopens", "")),
        track_links=track_links,
    )
