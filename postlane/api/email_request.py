"""An /email request as Postmark validates it: the JSON model, its limits (ErrorCode 300
for bad fields), and the Submission made from it (its MIME form is composed later:
domain.rendering). Pure CPU work: api.request.sized decides where it runs."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import Field

from postlane.accept import Submission
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel, member, parse
from postlane.api.request import decode
from postlane.domain import addresses, ids, limits, mime, rendering
from postlane.domain.types import DeliveryType, Source


class HeaderItem(PostmarkModel):
    name: str
    value: str = ""


class AttachmentItem(PostmarkModel):
    name: str = "attachment"
    content: str = ""
    content_type: str = "application/octet-stream"
    content_id: str | None = Field(default=None, alias="ContentID")


class EmailRequest(PostmarkModel):
    from_: str = Field(default="", alias="From")
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    tag: str = ""
    html_body: str | None = None
    text_body: str | None = None
    reply_to: str = ""
    headers: list[HeaderItem] = Field(default=[], max_length=limits.MAX_HEADERS)
    track_opens: bool = False
    track_links: str = "None"
    metadata: dict[str, str] = Field(default={}, max_length=limits.METADATA_FIELDS)
    attachments: list[AttachmentItem] = Field(default=[], max_length=limits.MAX_ATTACHMENTS)
    message_stream: str = "outbound"


def _invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_EMAIL_REQUEST, message)


def _clean(value: str, what: str) -> str:
    if limits.has_line_break(value):
        raise _invalid(f"{what} cannot contain line breaks.")
    return value.strip()


def _header_name(name: str) -> str:
    """RFC 5322 field-name: printable ASCII without colon or space, else a forged header."""
    name = name.strip()
    if not name or any(not 33 <= ord(ch) <= 126 or ch == ":" for ch in name):
        raise _invalid(f"Invalid header name '{name}': use printable ASCII without ':' or spaces.")
    return name


def _refuse_oversized(data: Any) -> None:
    """Count Headers, Attachments and Metadata in the decoded JSON, before pydantic makes
    a model of each entry: 200,000 headers are refused in microseconds, not validated."""
    counts = {name: len(value) for name in limits.MAX_COUNT
              if isinstance(value := member(data, name.lower()), list | dict)}
    problem = limits.too_many(**counts)
    if problem:
        raise _invalid(problem)


def _refuse_too_big(req: EmailRequest, max_bytes: int) -> None:
    """Postmark's size limits, checked before any MIME part is built: each body, and the
    message with its attachments as sent (base64, as they arrive), which can only grow."""
    problem = limits.too_large(TextBody=req.text_body, HtmlBody=req.html_body)
    if problem:
        raise _invalid(problem)
    at_least = sum(len(body) for body in (req.text_body or "", req.html_body or "")) + sum(
        len(item.content) for item in req.attachments)
    if at_least > max_bytes:
        raise _too_big(max_bytes)


def _too_big(max_bytes: int) -> ApiError:
    return _invalid(f"The message exceeds the size limit of {max_bytes} bytes.")


#: What base64 may be wrapped with: Ruby's pack('m') breaks lines at 60 characters with
#: LF, Python's email package at 76 with LF or CRLF, MIME encoders in general with CRLF.
_BASE64_WHITESPACE = str.maketrans("", "", " \t\r\n")


def _content(item: AttachmentItem) -> bytes:
    """The attachment's bytes: base64 whatever its line breaks and spaces (Postmark
    ignores them), any other character or bad padding refused."""
    try:
        return base64.b64decode(item.content.translate(_BASE64_WHITESPACE), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(f"Attachment '{item.name}' is not valid base64.") from exc


def content_id(value: str) -> str:
    """A ContentID as the SDKs write it ("cid:logo", the HTML's reference) or as a
    Content-ID holds it ("<logo>"), reduced to the bare id ("logo")."""
    value = value.strip()
    if value[:4].lower() == "cid:":
        value = value[4:].strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return value


def _attachments(items: list[AttachmentItem]) -> list[dict[str, Any]]:
    """Each attachment validated and kept as base64 without line breaks (composed into
    the message later: domain.rendering)."""
    out = []
    for item in items:
        data = _content(item)
        cid = content_id(_clean(item.content_id, "Attachment ContentID")
                         ) if item.content_id else ""
        out.append(rendering.stored_attachment(
            _clean(item.name, "Attachment name"),
            _clean(item.content_type, "Attachment ContentType"), cid or None,
            base64.b64encode(data).decode("ascii"), len(data)))
    return out


def _recipients(req: EmailRequest) -> list[str]:
    """From, then every address of To, Cc and Bcc: at least one, at most 50 in all."""
    if not req.from_.strip():
        raise _invalid("Invalid 'From' address: the From field is required.")
    problem = limits.too_long(To=req.to, Cc=req.cc, Bcc=req.bcc)
    if problem:  # before parsing: a 10 MB To field took seconds to split
        raise _invalid(problem)
    try:
        addresses.parse_one(req.from_)
        fields = {name: addresses.parse_list(value)
                  for name, value in (("To", req.to), ("Cc", req.cc), ("Bcc", req.bcc))}
    except ValueError as exc:
        raise _invalid(str(exc)) from exc
    recipients = [addr for pairs in fields.values() for _, addr in pairs]
    if not recipients:
        raise _invalid("Zero recipients specified.")
    if len(recipients) > limits.MAX_RECIPIENTS:
        raise _invalid(f"Maximum of {limits.MAX_RECIPIENTS} recipients allowed per email "
                       "message.")
    return recipients


def to_submission(req: EmailRequest, server_id: int, delivery_type: DeliveryType,
                  max_bytes: int) -> Submission:
    """Validate a request the way Postmark does (ErrorCode 300 for bad fields)."""
    recipients = _recipients(req)
    if req.html_body is None and req.text_body is None:
        raise _invalid("Provide either email TextBody or HtmlBody or both.")
    problem = limits.too_long(From=req.from_.strip(), ReplyTo=req.reply_to.strip(),
                              Subject=req.subject.strip(), Tag=req.tag.strip()
                              ) or limits.metadata_problem(req.metadata)
    if problem:
        raise _invalid(problem)
    _refuse_too_big(req, max_bytes)
    track_links = limits.track_links_as_given(req.track_links)
    if track_links is None:  # a JSON field can be refused (an SMTP header cannot)
        raise _invalid(limits.TRACK_LINKS_INVALID)
    headers = [{"Name": _header_name(h.name), "Value": _clean(h.value, "Header value")}
               for h in req.headers]
    attachments = _attachments(req.attachments)
    subject = _clean(req.subject, "Subject")
    _refuse_hidden_line_breaks(req, subject, headers, attachments)
    return Submission(
        server_id=server_id, delivery_type=delivery_type,
        stream=req.message_stream.strip().lower() or "outbound", source=Source.API,
        from_field=req.from_.strip(), recipients=recipients, to_field=req.to.strip(),
        cc_field=req.cc.strip(), bcc_field=req.bcc.strip(),
        reply_to=_clean(req.reply_to, "ReplyTo"),
        subject=subject, tag=_clean(req.tag, "Tag"), metadata=dict(req.metadata),
        headers=headers, text_body=req.text_body, html_body=req.html_body,
        attachments=attachments, raw=None, size=_size(req), track_opens=req.track_opens,
        track_links=track_links, message_id=ids.message_id())


def _refuse_hidden_line_breaks(req: EmailRequest, subject: str, headers: list[dict[str, str]],
                               attachments: list[dict[str, Any]]) -> None:
    """What composition would refuse, refused now: the message is composed only after
    it is accepted (domain.rendering). Every value that becomes (part of) a header."""
    found = mime.hidden_line_break([
        subject, req.from_, req.to, req.cc, req.reply_to, *(h["Value"] for h in headers),
        *(att[key] or "" for att in attachments for key in ("Name", "ContentType", "ContentID"))])
    if found is not None:
        raise _invalid("The message cannot be composed: a header would contain a line break "
                       "(encoded words count).")


def _size(req: EmailRequest) -> int:
    """The message's size as sent: bodies and attachments (base64, as they arrive)."""
    return sum(len(body.encode()) for body in (req.text_body or "", req.html_body or "")
               ) + sum(len(item.content) for item in req.attachments)


def request(data: Any) -> EmailRequest:
    """One message of the request, bounded before it is validated."""
    _refuse_oversized(data)
    return parse(EmailRequest, data, ErrorCode.INVALID_EMAIL_REQUEST)


def submission(body: bytes, server_id: int, delivery_type: DeliveryType,
                max_bytes: int) -> tuple[Submission, str]:
    """Decode and validate: the CPU work of a send (api.request.sized runs it on the loop
    for a small body, on a worker thread for a large one)."""
    req = request(decode(body, ErrorCode.INVALID_EMAIL_REQUEST))
    return to_submission(req, server_id, delivery_type, max_bytes), req.to
