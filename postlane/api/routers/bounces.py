"""Bounce API: search, fetch, dump, activate, delivery stats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.domain import bounce_types, payloads
from postlane.domain.errors import InvalidField
from postlane.services import bounces as bounce_service
from postlane.store import bounces
from postlane.store.database import Database

router = APIRouter()

def _search(db: Database, server_id: int, count: int, offset: int,
            filters: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        page = bounces.search(conn, server_id, count=count, offset=offset, **filters)
    return {"TotalCount": page.total, "Bounces": [payloads.bounce(b) for b in page.items]}


_SEARCH = [
    *openapi.paging(), openapi.query("type"), openapi.query("inactive", "boolean"),
    openapi.query("emailFilter"), openapi.query("tag"), openapi.query("messageID"),
    openapi.query("messagestream"), openapi.query("fromdate", "date"),
    openapi.query("todate", "date")]


@router.get("/bounces", openapi_extra=openapi.extra(params=_SEARCH))
async def search(request: Request, ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    count, offset = deps.paging(request)
    bounce_type = deps.query(request, "type")
    if bounce_type and bounce_types.lookup(bounce_type) is None:
        raise InvalidField("type", f"Unknown bounce type '{bounce_type}'.")
    filters = {
        "bounce_type": bounce_type,
        "inactive": deps.query_bool(request, "inactive"),
        "email_filter": deps.query(request, "emailFilter"),
        "tag": deps.query(request, "tag"),
        "message_id": deps.query(request, "messageID"),
        "stream": deps.query(request, "messagestream"),
        "from_date": deps.query_date(request, "fromdate"),
        "to_date": deps.query_date(request, "todate", end_of_day=True),
    }
    db = deps.db(request)
    return await db.run(_search, db, ctx.server_id, count, offset, filters)


def _tags(db: Database, server_id: int) -> list[str]:
    with db.read() as conn:
        return bounces.distinct_tags(conn, server_id)


@router.get("/bounces/tags")
async def tags(request: Request, ctx: ServerContext = Depends(server_token)) -> list[str]:
    """Postmark's legacy tag list: a plain JSON array of strings. Declared before
    ``/bounces/{bounce_id}`` so "tags" is never read as an id."""
    db = deps.db(request)
    return await db.run(_tags, db, ctx.server_id)


def _get(db: Database, server_id: int, bounce_id: int) -> dict[str, Any]:
    with db.read() as conn:
        return payloads.bounce(bounce_service.get(conn, server_id, bounce_id))


@router.get("/bounces/{bounce_id}")
async def get(bounce_id: deps.ResourceId, request: Request,
              ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, ctx.server_id, bounce_id)


@router.get("/bounces/{bounce_id}/dump")
async def dump(bounce_id: deps.ResourceId, request: Request,
               ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    bounce = await db.run(_get, db, ctx.server_id, bounce_id)
    return {"Body": bounce["Content"] if bounce["DumpAvailable"] else ""}


def _activate(db: Database, server_id: int, bounce_id: int) -> dict[str, Any]:
    with db.write() as conn:
        row = bounce_service.activate(conn, server_id, bounce_id)
    return {"Message": "OK", "Bounce": payloads.bounce(row)}


@router.put("/bounces/{bounce_id}/activate")
async def activate(bounce_id: deps.ResourceId, request: Request,
                   ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    result = await db.run(_activate, db, ctx.server_id, bounce_id)
    deps.wake_worker(request)  # a SubscriptionChange webhook may be queued
    return result


def _stats(db: Database, server_id: int) -> dict[str, Any]:
    with db.read() as conn:
        by_type = bounces.counts_by_type(conn, server_id)
        inactive = bounces.inactive_count(conn, server_id)
    # Every row carries Name, Type, Count and TypeCode: postmark-python's BounceTypeCount
    # requires all four. Postmark's docs show the "All" row with Name and Count only, so
    # it gets Type "All" and TypeCode 0 (no bounce type uses 0).
    rows: list[dict[str, Any]] = [{"Name": "All", "Type": "All", "TypeCode": 0,
                                   "Count": sum(c.count for c in by_type)}]
    for counted in by_type:
        known = bounce_types.lookup(counted.bounce_type)
        rows.append({"Type": counted.bounce_type,
                     "TypeCode": known.code if known else 0,
                     "Name": known.name if known else counted.bounce_type,
                     "Count": counted.count})
    return {"InactiveMails": inactive, "Bounces": rows}


@router.get("/deliverystats")
async def delivery_stats(request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_stats, db, ctx.server_id)
