"""POST /email and /email/batch: validate the request (api.email_request), then send
through services.sending (stream check, inactive recipients refused with ErrorCode 406,
accept)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.api import deps, openapi, sends
from postlane.api.auth import ServerContext, send_token
from postlane.api.email_request import EmailRequest, request, submission, to_submission
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.request import off_loop, read_body, read_json, sized
from postlane.domain.types import DeliveryType

router = APIRouter()

MAX_BATCH = 500


@router.post("/email", openapi_extra=openapi.extra(EmailRequest))
async def send_email(request: Request,
                     ctx: ServerContext = Depends(send_token)) -> dict[str, Any]:
    settings = deps.settings(request)
    body = await read_body(request)
    # The delivery type is the server's, set in the transaction (sending.send_many).
    sub, to_field = await sized(body, submission, ctx.server_id, DeliveryType.LIVE,
                                settings.smtp_max_message_bytes)
    return await sends.commit_one(request, ctx, sub, to_field)


def _validated(items: list[Any], server_id: int, max_bytes: int) -> list[sends.Checked]:
    """Each message of a batch validated on its own: a bad one is its own answer, the
    others still go."""
    out: list[sends.Checked] = []
    for item in items:
        try:
            req = request(item)
            out.append((to_submission(req, server_id, DeliveryType.LIVE, max_bytes), req.to))
        except ApiError as exc:
            out.append(sends.refused(exc.code, exc.message, sends.given_to(item)))
    return out


@router.post("/email/batch", openapi_extra=openapi.extra(EmailRequest, batch=MAX_BATCH))
async def send_batch(request: Request,
                     ctx: ServerContext = Depends(send_token)) -> list[dict[str, Any]]:
    settings = deps.settings(request)
    items = await read_json(request)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ApiError(ErrorCode.INCOMPATIBLE_JSON, "The batch body must be a JSON array.")
    if len(items) > MAX_BATCH:
        raise ApiError(ErrorCode.TOO_MANY_BATCH_MESSAGES,
                       f"A batch may contain at most {MAX_BATCH} messages.")
    checked = await off_loop(_validated, items, ctx.server_id,
                             settings.smtp_max_message_bytes)
    return await sends.commit_batch(request, ctx, checked)
