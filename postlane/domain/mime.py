"""Compose the MIME form of a REST API message, so every stored message has one raw form
for viewing, dumps and onward delivery, whichever front door it came through."""

from __future__ import annotations

from collections.abc import Iterable
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any

from postlane.domain import limits


def compose(*, from_field: str, to_field: str, cc_field: str, reply_to: str, subject: str,
            text_body: str | None, html_body: str | None, headers: list[dict[str, str]],
            attachments: list[dict[str, Any]], message_id: str, domain: str) -> bytes:
    """``attachments`` carry decoded bytes under "Data". At most limits.MAX_HEADERS
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
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=message_id, domain=domain)
    for header in headers:
        msg[header["Name"]] = header["Value"]
    _set_bodies(msg, text_body, html_body)
    for att in attachments:
        _attach(msg, att)
    _refuse_line_breaks(msg)
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


def _attach(msg: EmailMessage, att: dict[str, Any]) -> None:
    maintype, _, subtype = (att.get("ContentType") or "application/octet-stream").partition("/")
    msg.add_attachment(att["Data"], maintype=maintype, subtype=subtype or "octet-stream",
                       filename=att.get("Name") or "attachment",
                       cid=f"<{att['ContentID']}>" if att.get("ContentID") else None)


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
