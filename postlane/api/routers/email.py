"""POST /email and /email/batch: validate the request (api.email_request), then send
through services.sending (stream check, inactive recipients refused with ErrorCode 406,
accept)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.accept import Submission
from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.api.email_request import EmailRequest, request, submission, to_submission
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.request import off_loop, read_body, read_json
from postlane.asgi import errors as http_errors
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.domain.payloads import iso
from postlane.domain.types import DeliveryType
from postlane.services import sending
from postlane.store import servers
from postlane.store.database import Database

router = APIRouter()

MAX_BATCH = 500


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


@router.post("/email", openapi_extra=openapi.extra(EmailRequest))
async def send_email(request: Request,
                     ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db, settings = deps.db(request), deps.settings(request)
    body = await read_body(request)
    delivery_type = await db.run(_delivery_type, db, ctx.server_id)
    sub, to_field = await off_loop(submission, body, ctx.server_id, delivery_type,
                                   settings.smtp_max_message_bytes)
    result = await db.run(_send, db, sub, to_field)
    deps.wake_worker(request)
    return result


def _batch_item(db: Database, item: Any, server_id: int, delivery_type: DeliveryType,
                max_bytes: int) -> dict[str, Any]:
    try:
        req = request(item)
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
