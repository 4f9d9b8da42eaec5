"""Server API: /servers with the account token, /server with a server token.

EnableSmtpApiErrorHooks, the seed's switch, is set here (PUT /servers/{id} or PUT /server).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import field_validator

from postlane.api import deps
from postlane.api.auth import ServerContext, account_token, server_token
from postlane.api.models import PostmarkModel, parse
from postlane.api.request import read_json
from postlane.domain import payloads
from postlane.domain.errors import ApiError, ErrorCode
from postlane.domain.types import DeliveryType
from postlane.store import servers, tokens
from postlane.store.database import Database

router = APIRouter()

COLORS = ("Purple", "Blue", "Turquoise", "Green", "Red", "Yellow", "Grey", "Orange")
TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")


class ServerFields(PostmarkModel):
    name: str | None = None
    color: str | None = None
    smtp_api_activated: bool | None = None
    raw_email_enabled: bool | None = None
    delivery_type: str | None = None
    inbound_hook_url: str | None = None
    bounce_hook_url: str | None = None
    open_hook_url: str | None = None
    delivery_hook_url: str | None = None
    click_hook_url: str | None = None
    post_first_open_only: bool | None = None
    inbound_domain: str | None = None
    inbound_spam_threshold: int | None = None
    track_opens: bool | None = None
    track_links: str | None = None
    include_bounce_content_in_hook: bool | None = None
    enable_smtp_api_error_hooks: bool | None = None

    @field_validator("inbound_hook_url", "bounce_hook_url", "open_hook_url",
                     "delivery_hook_url", "click_hook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for color in COLORS:
            if color.lower() == value.lower():
                return color
        raise ValueError(f"must be one of {', '.join(COLORS)}")

    @field_validator("track_links")
    @classmethod
    def _track_links(cls, value: str | None) -> str | None:
        if value is not None and value not in TRACK_LINKS:
            raise ValueError(f"must be one of {', '.join(TRACK_LINKS)}")
        return value

    @field_validator("delivery_type")
    @classmethod
    def _delivery_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for kind in DeliveryType:
            if kind.value.lower() == value.lower():
                return kind.value
        raise ValueError("must be Live or Sandbox")

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set
                if getattr(self, name) is not None}


def _payload(conn: Any, row: Any, api_url: str) -> dict[str, Any]:
    return payloads.server(row, tokens.tokens_of(conn, row["id"]), api_url)


def _not_found(server_id: int) -> ApiError:
    return ApiError(ErrorCode.SERVER_NOT_FOUND, f"Server {server_id} was not found.")


def _check_name(conn: Any, name: str, server_id: int | None) -> str:
    name = name.strip()
    if not name:
        raise ApiError(ErrorCode.INVALID_FIELD, "Server name is required.")
    existing = servers.by_name(conn, name)
    if existing is not None and existing["id"] != server_id:
        raise ApiError(ErrorCode.SERVER_NAME_TAKEN, "This server name already exists.")
    return name


def _create(db: Database, fields: ServerFields, api_url: str) -> dict[str, Any]:
    changes = fields.changes()
    with db.write() as conn:
        changes["name"] = _check_name(conn, fields.name or "", None)
        server_id = servers.create(conn, changes["name"], changes)
        row = servers.get(conn, server_id)
        return _payload(conn, row, api_url)


def _update(db: Database, server_id: int, fields: ServerFields, api_url: str) -> dict[str, Any]:
    changes = fields.changes()
    with db.write() as conn:
        row = servers.get(conn, server_id)
        if row is None:
            raise _not_found(server_id)
        if "name" in changes:
            changes["name"] = _check_name(conn, changes["name"], server_id)
        if changes.get("delivery_type", row["delivery_type"]) != row["delivery_type"]:
            raise ApiError(ErrorCode.INVALID_FIELD,
                           "DeliveryType can only be chosen when a server is created.")
        servers.update(conn, server_id, changes)
        return _payload(conn, servers.get(conn, server_id), api_url)


def _get(db: Database, server_id: int, api_url: str) -> dict[str, Any]:
    with db.read() as conn:
        row = servers.get(conn, server_id)
        if row is None:
            raise _not_found(server_id)
        return _payload(conn, row, api_url)


def _list(db: Database, count: int, offset: int, name: str | None,
          api_url: str) -> dict[str, Any]:
    with db.read() as conn:
        total, rows = servers.listing(conn, count, offset, name)
        return {"TotalCount": total, "Servers": [_payload(conn, r, api_url) for r in rows]}


def _delete(db: Database, server_id: int) -> dict[str, Any]:
    with db.write() as conn:
        row = servers.get(conn, server_id)
        if row is None:
            raise _not_found(server_id)
        servers.delete(conn, server_id)
    return {"ErrorCode": 0, "Message": f"Server {row['name']} removed."}


@router.get("/servers")
async def list_servers(request: Request, _: str = Depends(account_token)) -> dict[str, Any]:
    count, offset = deps.paging(request)
    db = deps.db(request)
    return await db.run(_list, db, count, offset, deps.query(request, "name"),
                        deps.settings(request).api_url)


@router.post("/servers")
async def create_server(request: Request, _: str = Depends(account_token)) -> dict[str, Any]:
    fields = parse(ServerFields, await read_json(request))
    db = deps.db(request)
    return await db.run(_create, db, fields, deps.settings(request).api_url)


@router.get("/servers/{server_id}")
async def get_server(server_id: deps.ResourceId, request: Request,
                     _: str = Depends(account_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, server_id, deps.settings(request).api_url)


@router.put("/servers/{server_id}")
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


@router.put("/server")
async def edit_own_server(request: Request,
                          ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    fields = parse(ServerFields, await read_json(request))
    db = deps.db(request)
    return await db.run(_update, db, ctx.server_id, fields, deps.settings(request).api_url)
