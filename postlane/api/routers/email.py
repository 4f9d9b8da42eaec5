"""POST /email and /email/batch: validate the request (api.email_request), then send
through services.sending (stream check, inactive recipients refused with ErrorCode 406,
accept)."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.accept import Submission
from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, send_token
from postlane.api.email_request import EmailRequest, request, submission, to_submission
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.request import off_loop, read_body, read_json, sized
from postlane.asgi import errors as http_errors
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.domain.payloads import iso
from postlane.domain.types import DeliveryType
from postlane.services import sending
from postlane.services.identity import SendTokens
from postlane.store import Transaction

router = APIRouter()

MAX_BATCH = 500


def _answer(sent: sending.Sent, to_field: str) -> dict[str, Any]:
    return {"To": to_field, "SubmittedAt": iso(sent.accepted.received_at),
            "MessageID": sent.accepted.message_id, "ErrorCode": 0, "Message": sent.message}


def _refusal(error: PostlaneError) -> dict[str, Any]:
    if isinstance(error, DatabaseUnavailable):
        raise error  # the whole request is answered 503: nothing more can be stored
    return http_errors.body(error)


def _one(conn: Transaction, sub: Submission, tokens: SendTokens) -> sending.Sent:
    result = sending.send_many(conn, [sub], tokens)[0]
    if isinstance(result, PostlaneError):
        raise result
    return result


def _many(conn: Transaction, sends: list[tuple[Submission, SendTokens]]
          ) -> list[sending.Sent | PostlaneError]:
    """The group committer's batch form of concurrent sends (one function object, so
    they share a transaction): each submission with the token cache it was taken from
    (the app's: one for all of them)."""
    return sending.send_many(conn, [sub for sub, _ in sends], sends[0][1] if sends else None)


@router.post("/email", openapi_extra=openapi.extra(EmailRequest))
async def send_email(request: Request,
                     ctx: ServerContext = Depends(send_token)) -> dict[str, Any]:
    """Concurrent requests share the group committer's transactions: one commit (one
    fsync) makes many of them durable, each answered only after its own is committed."""
    settings = deps.settings(request)
    body = await read_body(request)
    # The delivery type is the server's, set in the transaction (sending.send_many).
    sub, to_field = await sized(body, submission, ctx.server_id, DeliveryType.LIVE,
                                settings.smtp_max_message_bytes)
    sub.token = ctx.token
    tokens = deps.send_tokens(request)
    sent = await deps.committer(request).submit(
        functools.partial(_one, sub=sub, tokens=tokens), many=_many, payload=(sub, tokens))
    deps.wake_worker(request)
    return _answer(sent, to_field)


def _validated(items: list[Any], server_id: int, max_bytes: int
               ) -> list[tuple[Submission, str] | ApiError]:
    """Each message of a batch validated and composed on its own: a bad one is its own
    answer, the others still go."""
    out: list[tuple[Submission, str] | ApiError] = []
    for item in items:
        try:
            req = request(item)
            out.append((to_submission(req, server_id, DeliveryType.LIVE, max_bytes), req.to))
        except ApiError as exc:
            out.append(exc)
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
    subs = [item[0] for item in checked if not isinstance(item, ApiError)]
    # The whole batch is one item of the committer: one transaction, one commit.
    for sub in subs:
        sub.token = ctx.token
    tokens = deps.send_tokens(request)
    sent = iter(await deps.committer(request).submit(
        functools.partial(_many, sends=[(sub, tokens) for sub in subs])))
    deps.wake_worker(request)
    results: list[dict[str, Any]] = []
    for item in checked:
        if isinstance(item, ApiError):
            results.append({"ErrorCode": item.code, "Message": item.message})
            continue
        outcome = next(sent)
        results.append(_refusal(outcome) if isinstance(outcome, PostlaneError)
                       else _answer(outcome, item[1]))
    return results
