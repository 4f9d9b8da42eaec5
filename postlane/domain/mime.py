"""Compose the MIME form of a REST API message, so every stored message has one raw form
for viewing, dumps and onward delivery, whichever front door it came through."""

from __future__ import annotations

from collections.abc import Iterable
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from postlane.domain import headers as identity_headers
from postlane.domain import limits


def compose(*, from_field: str, to_field: str, cc_field: str, reply_to: str, subject: str,
            text_body: str | None, html_body: str | None, headers: list[dict[str, str]],
            attachments: list[dict[str, Any]], message_id: str, domain: str,
            sent_at: float | None = None) -> bytes:
    """``attachments`` carry decoded bytes under "Data"; one with a "ContentID" (bare, as
    attachments.content_id makes it) is an inline image of the HTML body. ``message_id``
    is the MessageID of the response: the Message-ID and Date (``sent_at``, a POSIX time;
    now when None) are domain.headers' rule.
    At most limits.MAX_HEADERS
    headers and MAX_ATTACHMENTS attachments (ValueError): the work of building the message
    grows with each, and the front doors refuse more before they get here."""
    problem = limits.too_many(Headers=len(headers), Attachments=len(attachments))
    if problem:
        raise ValueError(problem)
    msg = EmailMessage()
    addressed = {"From": from_field, "To": to_field, "Cc": cc_field, "Reply-To": reply_to}
    for name, value in addressed.items():
        if value or name == "From":
            msg[name] = value
    msg["Subject"] = subject
    chosen = identity_headers.identity(headers, message_id, now=sent_at, domain=domain)
    msg["Date"] = chosen.date
    msg["Message-ID"] = chosen.message_id
    for header in chosen.headers:
        msg[header["Name"]] = header["Value"]
    _set_bodies(msg, text_body, html_body)
    _attach_all(msg, attachments, has_html=html_body is not None)
    _refuse_line_breaks(msg)
    _fix_boundaries(msg, message_id)
    if _needs_utf8_headers(addressed.values()):
        # RFC 6532: an internationalised address can only be written as UTF-8 (an
        # encoded word is not an address); such mail needs SMTPUTF8 to travel anyway.
        return msg.as_bytes(policy=policy.SMTPUTF8)
    return bytes(msg)


def _needs_utf8_headers(fields: Iterable[str]) -> bool:
    """True when an address (not just its display name) has a non-ASCII local part or
    domain."""
    return any(not address.isascii()
               for field in fields for _, address in getaddresses([field]) if field)


def _set_bodies(msg: EmailMessage, text_body: str | None, html_body: str | None) -> None:
    """Text alone, HTML alone, or both as multipart/alternative (text first)."""
    if text_body is not None:
        msg.set_content(text_body)
        if html_body is not None:
            msg.add_alternative(html_body, subtype="html")
    elif html_body is not None:
        msg.set_content(html_body, subtype="html")


def _attach_all(msg: EmailMessage, attachments: list[dict[str, Any]], has_html: bool) -> None:
    """Inline parts (a ContentID, and an HTML body to show them) first, so the result is
    mixed > related > (alternative > text, html) + inline parts, then the others in
    mixed. Without HTML a part with a ContentID is a regular attachment that keeps it."""
    inline = [att for att in attachments if has_html and att.get("ContentID")]
    if inline:
        _make_related(msg)
    for att in inline:
        _attach(msg, att, related=True)
    for att in attachments:
        if not (has_html and att.get("ContentID")):
            _attach(msg, att, related=False)


def _make_related(msg: EmailMessage) -> None:
    """Turn the body into multipart/related, the HTML or the alternative its first part.
    The email package converts only a single part or a multipart/mixed this way, so an
    alternative is moved into a part of its own here."""
    root = msg.get_content_type()
    if root != "multipart/alternative":
        msg.make_related()
    else:
        alternative = EmailMessage(policy=msg.policy)
        alternative["Content-Type"] = msg["Content-Type"]
        alternative.set_payload(msg.get_payload())
        del msg["Content-Type"]
        msg["Content-Type"] = "multipart/related"
        msg.set_payload([alternative])
    msg.set_param("type", root)  # RFC 2387: the type of the root (first) part


def _content_type(value: str | None) -> tuple[str, str]:
    """The type and subtype of an attachment's ContentType; parameters (``; name=...``)
    are dropped, as the part writes its own, and anything that is no type/subtype is
    application/octet-stream (an empty subtype would write ``image/;``)."""
    maintype, _, subtype = (value or "").split(";", 1)[0].strip().lower().partition("/")
    if not maintype or not subtype or any(ch in maintype + subtype for ch in ' "/\\'):
        return "application", "octet-stream"
    return maintype, subtype


def _attach(msg: EmailMessage, att: dict[str, Any], related: bool) -> None:
    """A regular attachment (multipart/mixed), or with ``related`` an inline part of the
    HTML (multipart/related, beside the alternative), which ``cid:`` references reach.
    The email package writes the bytes as base64 in 76-character lines."""
    maintype, subtype = _content_type(att.get("ContentType"))
    cid = f"<{att['ContentID']}>" if att.get("ContentID") else None
    filename = att.get("Name") or "attachment"
    if related:
        msg.add_related(att["Data"], maintype=maintype, subtype=subtype, cid=cid,
                        filename=filename, disposition="inline")
    else:
        msg.add_attachment(att["Data"], maintype=maintype, subtype=subtype, cid=cid,
                           filename=filename)


def _fix_boundaries(msg: EmailMessage, message_id: str) -> None:
    """Boundaries made from the message's id instead of at random: a REST message is
    composed whenever its bytes are needed (domain.rendering), and every reader must get
    the same bytes. The id is chosen by Postlane after the content was written, so the
    content cannot contain it."""
    for index, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_postlane_{message_id}_{index}")


def hidden_line_break(values: Iterable[str]) -> str | None:
    """The first header value whose RFC 2047 words decode to a CR or LF, or None: what
    compose would refuse (_refuse_line_breaks), checked without composing, so a REST
    send can be refused before it is accepted and composed later (domain.rendering)."""
    for value in values:
        if "=?" not in value:
            continue
        try:
            decoded = str(make_header(decode_header(value)))
        except (ValueError, LookupError, UnicodeError):
            continue  # not a valid encoded word: written as it is, no line break
        if limits.has_line_break(decoded):
            return value
    return None


def _refuse_line_breaks(msg: EmailMessage) -> None:
    """RFC 2047 words are decoded when a header is set, and Python before 3.11.10
    (CVE-2024-6923) writes a decoded CR/LF out as is: a forged header."""
    for part in msg.walk():
        for name, value in part.items():
            if limits.has_line_break(str(value)):
                raise ValueError(f"the {name} header would contain a line break "
                                 "(encoded words count)")


def _withheld(line: bytes) -> bool:
    """Header fields that never leave: Postmark's X-PM-* controls, and Bcc, which would
    show every recipient the hidden ones (RFC 5322 3.6.3; MSAs remove it, as Postfix's
    submission service does)."""
    lowered = line.lower()
    return lowered.startswith(b"x-pm-") or lowered.split(b":", 1)[0].rstrip() == b"bcc"


def for_delivery(raw: bytes, message_id: str) -> bytes:
    """The message as it leaves: the withheld headers removed (folded lines and all), and
    an X-PM-Message-Id header added so bounce reports can be matched to it. The stored
    copy keeps them: the API and the dashboard show Bcc to the sender."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    newline = b"\r\n"
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
        newline = b"\n"
    kept: list[bytes] = []
    skipping = False
    for line in head.split(newline):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = _withheld(line)
        if not skipping:
            kept.append(line)
    kept.append(b"X-PM-Message-Id: " + message_id.encode())
    return newline.join(kept) + (sep or newline + newline) + body
