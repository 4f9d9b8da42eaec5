"""Server API: /servers with the account token, /server with a server token.

EnableSmtpApiErrorHooks, the seed's switch, is set here (PUT /servers/{id} or PUT /server).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, field_validator

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, account_token, server_token
from postlane.api.models import PostmarkModel
from postlane.api.request import read_model
from postlane.domain import limits, payloads
from postlane.domain.records import Server
from postlane.services import servers as server_service
from postlane.services import webhooks as webhook_service
from postlane.store import Transaction, servers, tokens
from postlane.store.database import Database

router = APIRouter()


class ServerFields(PostmarkModel):
    """The request body of the Server API's create and edit: the settable fields in any
    key case, unset fields unchanged. Its rules are the service's (the validators call
    them), so the API refuses what the dashboard refuses, in pydantic's words; the class
    name is in those words and in the OpenAPI schema, hence the service value's name."""

    name: str | None = Field(default=None, max_length=limits.SERVER_NAME_LENGTH)
    color: str | None = None
    smtp_api_activated: bool | None = None
    raw_email_enabled: bool | None = None
    delivery_type: str | None = None
    inbound_hook_url: str | None = Field(default=None, max_length=limits.HOOK_URL_LENGTH)
    bounce_hook_url: str | None = Field(default=None, max_length=limits.HOOK_URL_LENGTH)
    open_hook_url: str | None = Field(default=None, max_length=limits.HOOK_URL_LENGTH)
    delivery_hook_url: str | None = Field(default=None, max_length=limits.HOOK_URL_LENGTH)
    click_hook_url: str | None = Field(default=None, max_length=limits.HOOK_URL_LENGTH)
    post_first_open_only: bool | None = None
    inbound_domain: str | None = Field(default=None, max_length=limits.INBOUND_DOMAIN_LENGTH)
    inbound_spam_threshold: int | None = Field(default=None, ge=0,
                                               le=limits.SPAM_THRESHOLD_MAX)
    track_opens: bool | None = None
    track_links: str | None = None
    include_bounce_content_in_hook: bool | None = None
    enable_smtp_api_error_hooks: bool | None = None

    @field_validator(*server_service.HOOK_URLS)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else server_service.hook_url(value)

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        return None if value is None else server_service.color(value)

    @field_validator("track_links")
    @classmethod
    def _track_links(cls, value: str | None) -> str | None:
        return None if value is None else server_service.track_links(value)

    @field_validator("delivery_type")
    @classmethod
    def _delivery_type(cls, value: str | None) -> str | None:
        return None if value is None else server_service.delivery_type(value)

    def value(self) -> server_service.ServerFields:
        """The service's value: the fields the request set."""
        return server_service.ServerFields(**{name: getattr(self, name)
                                              for name in self.model_fields_set})


def _fields(request: Request, body: ServerFields) -> server_service.ServerFields:
    """The request's fields, its hook URLs refused when they reach private addresses."""
    fields = body.value()
    webhook_service.check_hook_urls(fields,
                                    deps.settings(request).webhook_private_targets_allowed)
    return fields


def _payload(conn: Transaction, row: Server, api_url: str) -> dict[str, Any]:
    return payloads.server(row, tokens.tokens_of(conn, row.id), api_url)


def _create(db: Database, fields: server_service.ServerFields, api_url: str
            ) -> dict[str, Any]:
    with db.write() as conn:
        return _payload(conn, server_service.create(conn, fields), api_url)


def _update(db: Database, server_id: int, fields: server_service.ServerFields,
            api_url: str) -> dict[str, Any]:
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
    row = server_service.delete(db, server_id)
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
    fields = _fields(request, await read_model(request, ServerFields))
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
    fields = _fields(request, await read_model(request, ServerFields))
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
    fields = _fields(request, await read_model(request, ServerFields))
    db = deps.db(request)
    return await db.run(_update, db, ctx.server_id, fields, deps.settings(request).api_url)
