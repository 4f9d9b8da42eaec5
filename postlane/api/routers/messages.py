"""Messages API (outbound): search, details with events, raw dump."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.services import messages as message_service
from postlane.store.database import Database

router = APIRouter()


def _search(db: Database, server_id: int, count: int, offset: int,
            filters: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        return message_service.search(conn, server_id, count, offset, filters)


_SEARCH = [
    *openapi.paging(),
    *(openapi.query(name) for name in ("recipient", "fromemail", "tag", "status", "subject",
                                       "messagestream")),
    openapi.query("fromdate", "date"), openapi.query("todate", "date")]


@router.get("/messages/outbound", openapi_extra=openapi.extra(params=_SEARCH))
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
        # Postmark's metadata_<key>=<value> filters: exact matches, all of them must hold.
        "metadata": {name[len("metadata_"):]: value
                     for name, value in request.query_params.items()
                     if name.lower().startswith("metadata_") and len(name) > len("metadata_")},
    }
    db = deps.db(request)
    return await db.run(_search, db, ctx.server_id, count, offset, filters)


def _details(db: Database, server_id: int, message_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return message_service.details(conn, server_id, message_id)


@router.get("/messages/outbound/{message_id}/details")
async def details(message_id: deps.MessageId, request: Request,
                  ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_details, db, ctx.server_id, message_id)


@router.get("/messages/outbound/{message_id}/dump")
async def dump(message_id: deps.MessageId, request: Request,
               ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    message = await db.run(_details, db, ctx.server_id, message_id)
    return {"Body": message["Body"]}
