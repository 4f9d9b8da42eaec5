"""Turn a received MIME message plus its envelope into a Submission.

Postmark's X-PM-* headers choose the stream, tag, metadata and tracking. Field limits
and the tracking values follow domain.limits, the rules the REST API applies too; where
a header cannot be refused as a JSON field is (NUL, an unknown X-PM-TrackLinks), this
stores what it can, as limits' docstring says.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import compat32
from typing import Any

from postlane.accept import Submission
from postlane.domain import addresses, limits
from postlane.domain.types import DeliveryType, Source

_META_PREFIX = "x-pm-metadata-"
_FOLD = re.compile(r"\r?\n[ \t]+")


class MalformedMessage(ValueError):
    pass


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
        out.setdefault(name.lower(), limits.without_nul(_decode(str(value))))
    return out


def _single_part_text(msg: Message) -> tuple[str | None, str | None]:
    """Bodies of a one-part message without building the full object model."""
    payload = msg.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None, None
    text = limits.without_nul(payload.decode(msg.get_content_charset() or "utf-8", "replace"))
    subtype = msg.get_content_subtype()
    return (text, None) if subtype == "plain" else (None, text if subtype == "html" else None)


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content = part.get_content()
    return limits.without_nul(content) if isinstance(content, str) else None


def _multipart(raw: bytes) -> tuple[str | None, str | None, list[dict[str, Any]]]:
    """Multipart mail needs the full parser to find bodies and attachments."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    attachments = [{"Name": limits.without_nul(part.get_filename() or ""),
                    "ContentType": part.get_content_type(),
                    "ContentLength": len(part.get_payload(decode=True) or b"")}
                   for part in msg.iter_attachments()]
    return _body(msg, "plain"), _body(msg, "html"), attachments


def to_submission(raw: bytes, mail_from: str, rcpt_tos: list[str], server_id: int,
                  delivery_type: DeliveryType) -> Submission:
    try:
        # compat32 keeps header values as strings: much cheaper than building header
        # objects, and we only need a few of them.
        msg = email.message_from_bytes(raw, policy=compat32)
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
    except (ValueError, TypeError, LookupError, AssertionError) as exc:
        raise MalformedMessage(str(exc) or "unparseable message") from exc
    problem = limits.too_long(From=headers.get("from", ""), ReplyTo=headers.get("reply-to", ""),
                              Subject=headers.get("subject", ""), Tag=headers.get("x-pm-tag", ""))
    if problem:
        raise MalformedMessage(problem)
    track_links = limits.track_links(headers.get("x-pm-tracklinks", "")) or "None"
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
