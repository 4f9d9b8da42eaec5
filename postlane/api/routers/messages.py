"""Messages API (outbound): search, details with events, raw dump."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.api import deps
from postlane.api.auth import ServerContext, server_token
from postlane.domain import payloads
from postlane.domain.errors import ApiError, ErrorCode
from postlane.store import messages
from postlane.store.database import Database

router = APIRouter()


def _not_found(message_id: str) -> ApiError:
    return ApiError(ErrorCode.MESSAGE_NOT_FOUND, f"Message {message_id} was not found.")


def _search(db: Database, server_id: int, count: int, offset: int,
            filters: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        total, rows = messages.search(conn, server_id, count=count, offset=offset, **filters)
        recipients = messages.recipients_by_message(conn, [r["id"] for r in rows])
    return {"TotalCount": total, "Messages": [
        payloads.message_summary(r, [x["status"] for x in recipients[r["id"]]],
                                 [x["address"] for x in recipients[r["id"]]]) for r in rows]}


@router.get("/messages/outbound")
async def search(request: Request, ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    count, offset = deps.paging(request)
    filters = {
        "recipient": deps.query(request, "recipient"),
        "from_email": deps.query(request, "fromemail"),
        "tag": deps.query(request, "tag"),
        "status": deps.query(request, "status"),
        "subject": deps.query(request, "subject"),
        "stream": deps.query(request, "messagestream"),
        "from_date": deps.query_date(request, "fromdate"),
        "to_date": deps.query_date(request, "todate", end_of_day=True),
    }
    db = deps.db(request)
    return await db.run(_search, db, ctx.server_id, count, offset, filters)


def _details(db: Database, server_id: int, message_id: str) -> dict[str, Any]:
    with db.read() as conn:
        row = messages.get(conn, server_id, message_id)
        if row is None:
            raise _not_found(message_id)
        recipients = messages.recipients_of(conn, row["id"])
        events = messages.events_of(conn, row["id"])
    return payloads.message_details(row, [r["status"] for r in recipients],
                                    [r["address"] for r in recipients], events)


@router.get("/messages/outbound/{message_id}/details")
async def details(message_id: str, request: Request,
                  ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_details, db, ctx.server_id, message_id)


@router.get("/messages/outbound/{message_id}/dump")
async def dump(message_id: str, request: Request,
               ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    message = await db.run(_details, db, ctx.server_id, message_id)
    return {"Body": message["Body"]}
