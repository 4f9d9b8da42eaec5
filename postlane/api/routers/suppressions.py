"""Suppressions API: dump (with filters), create and delete, at most 50 addresses a call.

Customer-made suppressions are ManualSuppression with Origin Customer. SpamComplaint
suppressions cannot be deleted by the customer; deleting a HardBounce suppression
reactivates the bounces that caused it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel, member
from postlane.api.request import read_json
from postlane.domain import addresses, payloads
from postlane.services import streams as stream_service
from postlane.services import suppressions as suppression_service
from postlane.store import suppressions
from postlane.store.database import Database

router = APIRouter()

MAX_PER_REQUEST = 50


class SuppressionItem(PostmarkModel):
    email_address: str = ""


class SuppressionsRequest(PostmarkModel):
    """The documented shape; requests are read entry by entry (_addresses)."""

    suppressions: list[SuppressionItem] = []


def _addresses(data: Any) -> list[str]:
    """Each entry's EmailAddress. An entry that is not an object with a string
    EmailAddress (a number, null, a list, NUL in it) is its own Failed result, as Postmark
    answers per entry: it becomes "", which no rule accepts, and the others go ahead."""
    if data is not None and not isinstance(data, dict):
        raise ApiError(ErrorCode.INCOMPATIBLE_JSON, "The request body must be a JSON object.")
    entries = member(data, "suppressions")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ApiError(ErrorCode.INCOMPATIBLE_JSON, "Suppressions must be a JSON array.")
    if len(entries) > MAX_PER_REQUEST:
        raise ApiError(ErrorCode.SUPPRESSION_LIMIT,
                       f"At most {MAX_PER_REQUEST} suppressions can be changed per request.")
    found = [member(entry, "emailaddress") for entry in entries]
    return [value.strip() if isinstance(value, str) else "" for value in found]


async def _items(request: Request) -> list[str]:
    return _addresses(await read_json(request))


def _change(db: Database, server_id: int, stream_id: str, emails: list[str],
            remove: bool) -> list[dict[str, Any]]:
    with db.write() as conn:
        if remove:
            return suppression_service.reactivate(conn, server_id, stream_id, emails)
        return suppression_service.suppress(conn, server_id, stream_id, emails)


def _dump(db: Database, server_id: int, stream_id: str,
          filters: dict[str, Any]) -> list[dict[str, Any]]:
    with db.read() as conn:
        stream = stream_service.require(conn, server_id, stream_id).id
        return [payloads.suppression(r) for r in suppressions.dump(conn, server_id, stream,
                                                                    **filters)]


_DUMP = [openapi.query("SuppressionReason",
                       enum=["HardBounce", "SpamComplaint", "ManualSuppression"]),
         openapi.query("Origin", enum=["Recipient", "Customer", "Admin"]),
         openapi.query("EmailAddress"), openapi.query("fromdate", "date"),
         openapi.query("todate", "date")]


@router.get("/message-streams/{stream_id}/suppressions/dump",
            openapi_extra=openapi.extra(params=_DUMP))
async def dump(stream_id: deps.StreamId, request: Request,
               ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    email = deps.query(request, "EmailAddress")
    filters = {
        "reason": deps.query(request, "SuppressionReason"),
        "origin": deps.query(request, "Origin"),
        "email": addresses.normalize(email) if email else None,
        "from_date": deps.query_date(request, "fromdate"),
        "to_date": deps.query_date(request, "todate", end_of_day=True),
    }
    db = deps.db(request)
    return {"Suppressions": await db.run(_dump, db, ctx.server_id, stream_id, filters)}


@router.post("/message-streams/{stream_id}/suppressions",
             openapi_extra=openapi.extra(SuppressionsRequest))
async def create(stream_id: deps.StreamId, request: Request,
                 ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    emails = await _items(request)
    db = deps.db(request)
    results = await db.run(_change, db, ctx.server_id, stream_id, emails, False)
    deps.wake_worker(request)  # SubscriptionChange webhooks may be queued
    return {"Suppressions": results}


@router.post("/message-streams/{stream_id}/suppressions/delete",
             openapi_extra=openapi.extra(SuppressionsRequest))
async def delete(stream_id: deps.StreamId, request: Request,
                 ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    emails = await _items(request)
    db = deps.db(request)
    results = await db.run(_change, db, ctx.server_id, stream_id, emails, True)
    deps.wake_worker(request)  # SubscriptionChange webhooks may be queued
    return {"Suppressions": results}
