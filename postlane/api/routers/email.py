"""POST /email and /email/batch: validate the request, then send through services.sending
(stream check, inactive recipients refused with ErrorCode 406, accept)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from postlane.accept import Submission
from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel, member, parse
from postlane.api.request import decode, off_loop, read_body, read_json
from postlane.asgi import errors as http_errors
from postlane.domain import addresses, limits, mime
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.domain.payloads import iso
from postlane.domain.types import DeliveryType, Source
from postlane.services import sending
from postlane.store import servers
from postlane.store.database import Database

router = APIRouter()

MAX_BATCH = 500


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


def _attachments(items: list[AttachmentItem]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        try:
            data = base64.b64decode(item.content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(f"Attachment '{item.name}' is not valid base64.") from exc
        out.append({"Name": _clean(item.name, "Attachment name"),
                    "ContentType": _clean(item.content_type, "Attachment ContentType"),
                    "ContentID": _clean(item.content_id, "Attachment ContentID")
                    if item.content_id else None, "ContentLength": len(data), "Data": data})
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
    track_links = limits.track_links(req.track_links)
    if track_links is None:  # a JSON field can be refused (an SMTP header cannot)
        raise _invalid(f"TrackLinks must be one of {limits.track_links_choices()}.")
    headers = [{"Name": _header_name(h.name), "Value": _clean(h.value, "Header value")}
               for h in req.headers]
    attachments = _attachments(req.attachments)
    subject = _clean(req.subject, "Subject")
    try:
        raw = mime.compose(from_field=req.from_.strip(), to_field=req.to.strip(),
                           cc_field=req.cc.strip(), reply_to=_clean(req.reply_to, "ReplyTo"),
                           subject=subject, text_body=req.text_body, html_body=req.html_body,
                           headers=headers, attachments=attachments, message_id="postlane",
                           domain="postlane.local")
    except (ValueError, TypeError) as exc:  # the email package refuses what it cannot write
        raise _invalid(f"The message cannot be composed: {exc}") from exc
    if len(raw) > max_bytes:
        raise _too_big(max_bytes)
    return Submission(
        server_id=server_id, delivery_type=delivery_type,
        stream=req.message_stream.strip().lower() or "outbound", source=Source.API,
        from_field=req.from_.strip(), recipients=recipients, to_field=req.to.strip(),
        cc_field=req.cc.strip(), bcc_field=req.bcc.strip(), reply_to=req.reply_to.strip(),
        subject=subject, tag=_clean(req.tag, "Tag"), metadata=dict(req.metadata),
        headers=headers, text_body=req.text_body, html_body=req.html_body,
        attachments=[{k: v for k, v in a.items() if k != "Data"} for a in attachments],
        raw=raw, size=len(raw), track_opens=req.track_opens, track_links=track_links)


def _send(db: Database, sub: Submission, to_field: str) -> dict[str, Any]:
    with db.write() as conn:
        sent = sending.send(conn, sub)
    return {"To": to_field, "SubmittedAt": iso(sent.accepted.received_at),
            "MessageID": sent.accepted.message_id, "ErrorCode": 0, "Message": sent.message}


def _delivery_type(db: Database, server_id: int) -> DeliveryType:
    with db.read() as conn:
        row = servers.get(conn, server_id)
    if row is None:
        raise ApiError(ErrorCode.BAD_TOKEN, "The server for this token no longer exists.", 401)
    return row.delivery_type


def _request(data: Any) -> EmailRequest:
    """One message of the request, bounded before it is validated."""
    _refuse_oversized(data)
    return parse(EmailRequest, data, ErrorCode.INVALID_EMAIL_REQUEST)


def _submission(body: bytes, server_id: int, delivery_type: DeliveryType,
                max_bytes: int) -> tuple[Submission, str]:
    """Decode, validate and compose: the CPU work of a send, done on a worker thread."""
    req = _request(decode(body, ErrorCode.INVALID_EMAIL_REQUEST))
    return to_submission(req, server_id, delivery_type, max_bytes), req.to


@router.post("/email", openapi_extra=openapi.extra(EmailRequest))
async def send_email(request: Request,
                     ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db, settings = deps.db(request), deps.settings(request)
    body = await read_body(request)
    delivery_type = await db.run(_delivery_type, db, ctx.server_id)
    sub, to_field = await off_loop(_submission, body, ctx.server_id, delivery_type,
                                   settings.smtp_max_message_bytes)
    result = await db.run(_send, db, sub, to_field)
    deps.wake_worker(request)
    return result


def _batch_item(db: Database, item: Any, server_id: int, delivery_type: DeliveryType,
                max_bytes: int) -> dict[str, Any]:
    try:
        req = _request(item)
        return _send(db, to_submission(req, server_id, delivery_type, max_bytes), req.to)
    except ApiError as exc:
        return {"ErrorCode": exc.code, "Message": exc.message}
    except DatabaseUnavailable:
        raise  # the whole batch is answered 503: nothing more can be stored
    except PostlaneError as exc:
        return http_errors.body(exc)


def _batch(db: Database, items: list[Any], server_id: int, delivery_type: DeliveryType,
           max_bytes: int) -> list[dict[str, Any]]:
    return [_batch_item(db, item, server_id, delivery_type, max_bytes) for item in items]


@router.post("/email/batch", openapi_extra=openapi.extra(EmailRequest, batch=MAX_BATCH))
async def send_batch(request: Request,
                     ctx: ServerContext = Depends(server_token)) -> list[dict[str, Any]]:
    db, settings = deps.db(request), deps.settings(request)
    items = await read_json(request)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ApiError(ErrorCode.INCOMPATIBLE_JSON, "The batch body must be a JSON array.")
    if len(items) > MAX_BATCH:
        raise ApiError(ErrorCode.TOO_MANY_BATCH_MESSAGES,
                       f"A batch may contain at most {MAX_BATCH} messages.")
    delivery_type = await db.run(_delivery_type, db, ctx.server_id)
    results = await db.run(_batch, db, items, ctx.server_id, delivery_type,
                           settings.smtp_max_message_bytes)
    deps.wake_worker(request)
    return results
