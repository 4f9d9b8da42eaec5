"""Open and link tracking: the public endpoints recipients' mail clients reach (the open
pixel, tracked links), and the Messages API's opens and clicks searches."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.services import tracking as tracking_service
from postlane.store import signing_keys
from postlane.store.database import Database

router = APIRouter()

#: A transparent 1x1 GIF (43 bytes): header, screen of 1x1 with a two-colour table,
#: transparency, the image and its LZW data (clear, pixel 0, end), trailer.
PIXEL = bytes.fromhex(
    "474946383961 01000100800000 000000ffffff 21f9040100000000 2c000000000100010000"
    " 0202440100 3b")

#: Neither the pixel nor the redirect may be cached: each fetch is an open or a click.
_NO_STORE = {"Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
             "Pragma": "no-cache"}


def _visit(request: Request) -> tracking_service.Visit:
    return tracking_service.Visit(request.headers.get("user-agent", ""),
                                  request.client.host if request.client else "")


def _key(db: Database, request: Request) -> bytes:
    return signing_keys.tracking_key(db, deps.settings(request).tracking_secret)


def _opened(db: Database, key: bytes, token: str, visit: tracking_service.Visit) -> bool:
    with db.write() as conn:
        return tracking_service.opened(conn, key, token, visit)


def _clicked(db: Database, key: bytes, token: str,
             visit: tracking_service.Visit) -> str | None:
    with db.write() as conn:
        return tracking_service.clicked(conn, key, token, visit)


def _not_found() -> Response:
    return Response(b"Not Found", status_code=404, media_type="text/plain",
                    headers=_NO_STORE)


@router.get("/track/open/{token}", include_in_schema=False)
async def track_open(token: str, request: Request) -> Response:
    db = deps.db(request)
    key = await db.run(_key, db, request)
    if not await db.run(_opened, db, key, token, _visit(request)):
        return _not_found()
    return Response(PIXEL, media_type="image/gif", headers=_NO_STORE)


@router.get("/track/click/{token}", include_in_schema=False)
async def track_click(token: str, request: Request) -> Response:
    db = deps.db(request)
    key = await db.run(_key, db, request)
    link = await db.run(_clicked, db, key, token, _visit(request))
    if link is None:
        return _not_found()
    return RedirectResponse(link, status_code=302, headers=_NO_STORE)


# --- the Messages API's searches ----------------------------------------------------------

_READERS = ("recipient", "tag", "client_name", "client_company", "client_family", "os_name",
            "os_company", "os_family", "platform", "country", "region", "city")
_SEARCH = [*openapi.paging(),
           *(openapi.query(name) for name in _READERS),
           openapi.query("messagestream"),
           openapi.query("fromdate", "date"), openapi.query("todate", "date")]


def _given(request: Request, name: str) -> str | None:
    """A filter as Postmark's reference spells it (client_name, as postmarker sends it)
    or as postmark-python does (clientName); query keys are case-insensitive."""
    return deps.query(request, name) or deps.query(request, name.replace("_", ""))


def _filters(request: Request) -> dict[str, Any]:
    """Postmark's filters. Country, region and city match nothing but an empty value:
    Postlane keeps no location."""
    filters: dict[str, Any] = {name: _given(request, name) for name in _READERS[:9]}
    filters["stream"] = deps.query(request, "messagestream")
    filters["from_date"] = deps.query_date(request, "fromdate")
    filters["to_date"] = deps.query_date(request, "todate", end_of_day=True)
    if any(_given(request, name) for name in _READERS[9:]):
        filters["message_id"] = "-"  # no record has a location: none matches
    return filters


def _search(db: Database, kind: str, server_id: int, count: int, offset: int,
            filters: dict[str, Any], message_id: str | None = None) -> dict[str, Any]:
    with db.read() as conn:
        if message_id is not None:
            tracking_service.of_message(conn, server_id, message_id)
            filters = {"message_id": message_id}
        search = (tracking_service.search_opens if kind == "opens"
                  else tracking_service.search_clicks)
        return search(conn, server_id, count, offset, filters)


async def _answer(request: Request, ctx: ServerContext, kind: str,
                  message_id: str | None = None) -> dict[str, Any]:
    count, offset = deps.paging(request)
    filters = _filters(request) if message_id is None else {}
    db = deps.db(request)
    return await db.run(functools.partial(_search, message_id=message_id), db, kind,
                        ctx.server_id, count, offset, filters)


@router.get("/messages/outbound/opens", openapi_extra=openapi.extra(params=_SEARCH))
async def opens(request: Request, ctx: ServerContext = Depends(server_token)
                ) -> dict[str, Any]:
    return await _answer(request, ctx, "opens")


@router.get("/messages/outbound/opens/{message_id}",
            openapi_extra=openapi.extra(params=openapi.paging()))
async def message_opens(message_id: deps.MessageId, request: Request,
                        ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    return await _answer(request, ctx, "opens", message_id)


@router.get("/messages/outbound/clicks", openapi_extra=openapi.extra(params=_SEARCH))
async def clicks(request: Request, ctx: ServerContext = Depends(server_token)
                 ) -> dict[str, Any]:
    return await _answer(request, ctx, "clicks")


@router.get("/messages/outbound/clicks/{message_id}",
            openapi_extra=openapi.extra(params=openapi.paging()))
async def message_clicks(message_id: deps.MessageId, request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    return await _answer(request, ctx, "clicks", message_id)
