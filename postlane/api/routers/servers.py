"""Server API: /servers with the account token, /server with a server token.

EnableSmtpApiErrorHooks, the seed's switch, is set here (PUT /servers/{id} or PUT /server).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, account_token, server_token
from postlane.api.models import parse
from postlane.api.request import read_json
from postlane.domain import payloads
from postlane.domain.records import Server
from postlane.services import servers as server_service
from postlane.services.servers import ServerFields
from postlane.store import Transaction, servers, tokens
from postlane.store.database import Database

router = APIRouter()


def _payload(conn: Transaction, row: Server, api_url: str) -> dict[str, Any]:
    return payloads.server(row, tokens.tokens_of(conn, row.id), api_url)


def _create(db: Database, fields: ServerFields, api_url: str) -> dict[str, Any]:
    with db.write() as conn:
        return _payload(conn, server_service.create(conn, fields), api_url)


def _update(db: Database, server_id: int, fields: ServerFields, api_url: str) -> dict[str, Any]:
    with db.write() as conn:
        return _payload(conn, server_service.update(conn, server_id, fields), api_url)


def _get(db: Database, server_id: int, api_url: str) -> dict[str, Any]:
    with db.read() as conn:
        row = servers.get(conn, server_id)
        if row is None:
            raise server_service.not_found(server_id)
        return _payload(conn, row, api_url)


def _list(db: Database, count: int, offset: int, name: str | None,
          api_url: str) -> dict[str, Any]:
    with db.read() as conn:
        page = servers.listing(conn, count, offset, name)
        return {"TotalCount": page.total,
                "Servers": [_payload(conn, r, api_url) for r in page.items]}


def _delete(db: Database, server_id: int) -> dict[str, Any]:
    with db.write() as conn:
        row = servers.get(conn, server_id)
        if row is None:
            raise server_service.not_found(server_id)
        servers.delete(conn, server_id)
    return {"ErrorCode": 0, "Message": f"Server {row.name} removed."}


@router.get("/servers",
            openapi_extra=openapi.extra(params=[*openapi.paging(), openapi.query("name")]))
async def list_servers(request: Request, _: str = Depends(account_token)) -> dict[str, Any]:
    count, offset = deps.paging(request)
    db = deps.db(request)
    return await db.run(_list, db, count, offset, deps.query(request, "name"),
                        deps.settings(request).api_url)


@router.post("/servers", openapi_extra=openapi.extra(ServerFields))
async def create_server(request: Request, _: str = Depends(account_token)) -> dict[str, Any]:
    fields = parse(ServerFields, await read_json(request))
    db = deps.db(request)
    return await db.run(_create, db, fields, deps.settings(request).api_url)


@router.get("/servers/{server_id}")
async def get_server(server_id: deps.ResourceId, request: Request,
                     _: str = Depends(account_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, server_id, deps.settings(request).api_url)


@router.put("/servers/{server_id}", openapi_extra=openapi.extra(ServerFields))
async def edit_server(server_id: deps.ResourceId, request: Request,
                      _: str = Depends(account_token)) -> dict[str, Any]:
    fields = parse(ServerFields, await read_json(request))
    db = deps.db(request)
    return await db.run(_update, db, server_id, fields, deps.settings(request).api_url)


@router.delete("/servers/{server_id}")
async def delete_server(server_id: deps.ResourceId, request: Request,
                        _: str = Depends(account_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_delete, db, server_id)


@router.get("/server")
async def get_own_server(request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, ctx.server_id, deps.settings(request).api_url)


@router.put("/server", openapi_extra=openapi.extra(ServerFields))
async def edit_own_server(request: Request,
                          ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    fields = parse(ServerFields, await read_json(request))
    db = deps.db(request)
    return await db.run(_update, db, ctx.server_id, fields, deps.settings(request).api_url)
