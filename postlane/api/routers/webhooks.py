"""Webhooks API (Postmark's), plus Postlane's delivery log and retry endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, field_validator, model_validator

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel
from postlane.api.request import read_model
from postlane.domain import network, payloads
from postlane.domain.errors import Entity, NotFound
from postlane.domain.records import Webhook
from postlane.services import streams as stream_service
from postlane.services import webhooks as webhook_service
from postlane.store import webhooks
from postlane.store.database import Database

router = APIRouter()
_DELIVERIES = [openapi.query("count", "integer", minimum=1, maximum=500, default=100),
               openapi.query("state")]


class HttpAuth(PostmarkModel):
    username: str = ""
    password: str = ""


class HttpHeader(PostmarkModel):
    name: str
    value: str = ""

    @model_validator(mode="after")
    def _sendable(self) -> HttpHeader:
        """network.header_problem: no line breaks, no framing or hop-by-hop headers."""
        problem = network.header_problem(self.name, self.value)
        if problem is not None:
            raise ValueError(problem)
        return self


class Toggle(PostmarkModel):
    enabled: bool = False


class OpenToggle(Toggle):
    post_first_open_only: bool = False


class ContentToggle(Toggle):
    include_content: bool = False


class Triggers(PostmarkModel):
    open: OpenToggle = OpenToggle()
    click: Toggle = Toggle()
    delivery: Toggle = Toggle()
    bounce: ContentToggle = ContentToggle()
    spam_complaint: ContentToggle = ContentToggle()
    subscription_change: Toggle = Toggle()

    def stored(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class WebhookRequest(PostmarkModel):
    url: str | None = Field(default=None, max_length=2000)
    message_stream: str | None = None
    http_auth: HttpAuth | None = None
    http_headers: list[HttpHeader] | None = None
    triggers: Triggers | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        if value is not None:
            network.url_host(value)  # one host, read alike by every parser
        return value


def _not_found(webhook_id: int) -> NotFound:
    return NotFound(Entity.WEBHOOK, webhook_id)


def _values(req: WebhookRequest, current: Webhook | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if req.url is not None:
        values["url"] = req.url
    if req.http_auth is not None:
        values["http_auth"] = req.http_auth.model_dump(by_alias=True)
    if req.http_headers is not None:
        values["http_headers"] = [h.model_dump(by_alias=True) for h in req.http_headers]
    if req.triggers is not None:
        values["triggers"] = req.triggers.stored()
    elif current is None:
        values["triggers"] = Triggers().stored()
    return values


def _create(db: Database, server_id: int, req: WebhookRequest,
            allow_private: bool) -> dict[str, Any]:
    if not req.url:
        raise ApiError(ErrorCode.WEBHOOK_INVALID, "Url is required.")
    webhook_service.check_target(req.url, allow_private)
    stream = (req.message_stream or "outbound").lower()
    with db.write() as conn:
        stream_service.require(conn, server_id, stream)
        values = {"stream": stream, "http_auth": None, "http_headers": [], **_values(req, None)}
        webhook_id = webhooks.create(conn, server_id, values)
        row = webhooks.get(conn, server_id, webhook_id)
    assert row is not None
    return payloads.webhook(row)


def _update(db: Database, server_id: int, webhook_id: int, req: WebhookRequest,
            allow_private: bool) -> dict[str, Any]:
    if req.url:
        webhook_service.check_target(req.url, allow_private)
    with db.write() as conn:
        row = webhooks.get(conn, server_id, webhook_id)
        if row is None:
            raise _not_found(webhook_id)
        if req.message_stream and req.message_stream.lower() != row.stream:
            raise ApiError(ErrorCode.WEBHOOK_INVALID,
                           "A webhook's MessageStream cannot be changed.")
        webhooks.update(conn, server_id, webhook_id, _values(req, row))
        row = webhooks.get(conn, server_id, webhook_id)
    assert row is not None
    return payloads.webhook(row)


def _get(db: Database, server_id: int, webhook_id: int) -> dict[str, Any]:
    with db.read() as conn:
        row = webhooks.get(conn, server_id, webhook_id)
    if row is None:
        raise _not_found(webhook_id)
    return payloads.webhook(row)


def _list(db: Database, server_id: int, stream: str | None) -> dict[str, Any]:
    with db.read() as conn:
        rows = webhooks.listing(conn, server_id, stream.lower() if stream else None)
    return {"Webhooks": [payloads.webhook(r) for r in rows]}


def _delete(db: Database, server_id: int, webhook_id: int) -> dict[str, Any]:
    with db.write() as conn:
        if not webhooks.delete(conn, server_id, webhook_id):
            raise _not_found(webhook_id)
    return {"ErrorCode": 0, "Message": f"Webhook {webhook_id} removed."}


def _deliveries(db: Database, server_id: int, webhook_id: int | None,
                state: str | None, limit: int) -> dict[str, Any]:
    with db.read() as conn:
        if webhook_id is not None and webhooks.get(conn, server_id, webhook_id) is None:
            raise _not_found(webhook_id)
        rows = webhooks.deliveries(conn, server_id, webhook_id=webhook_id, state=state,
                                   limit=limit)
    return {"Deliveries": [payloads.webhook_delivery(r) for r in rows]}


def _retry(db: Database, server_id: int, delivery_id: int) -> dict[str, Any]:
    with db.write() as conn:
        webhook_service.retry_delivery(conn, server_id, delivery_id)
    return {"ErrorCode": 0, "Message": f"Webhook delivery {delivery_id} queued for retry."}


@router.get("/webhooks", openapi_extra=openapi.extra(params=[openapi.query("MessageStream")]))
async def list_webhooks(request: Request,
                        ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_list, db, ctx.server_id, deps.query(request, "MessageStream"))


@router.post("/webhooks", openapi_extra=openapi.extra(WebhookRequest))
async def create_webhook(request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await read_model(request, WebhookRequest, ErrorCode.WEBHOOK_INVALID)
    db = deps.db(request)
    return await db.run(_create, db, ctx.server_id, req,
                        deps.settings(request).webhook_private_targets_allowed)


@router.get("/webhooks/{webhook_id}")
async def get_webhook(webhook_id: deps.ResourceId, request: Request,
                      ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, ctx.server_id, webhook_id)


@router.put("/webhooks/{webhook_id}", openapi_extra=openapi.extra(WebhookRequest))
async def edit_webhook(webhook_id: deps.ResourceId, request: Request,
                       ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await read_model(request, WebhookRequest, ErrorCode.WEBHOOK_INVALID)
    db = deps.db(request)
    return await db.run(_update, db, ctx.server_id, webhook_id, req,
                        deps.settings(request).webhook_private_targets_allowed)


@router.delete("/webhooks/{webhook_id}")
async def delete_webhook(webhook_id: deps.ResourceId, request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_delete, db, ctx.server_id, webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", openapi_extra=openapi.extra(params=_DELIVERIES))
async def webhook_deliveries(webhook_id: deps.ResourceId, request: Request,
                             ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    limit = deps.query_int(request, "count", 100, minimum=1, maximum=500)
    return await db.run(_deliveries, db, ctx.server_id, webhook_id, deps.query(request, "state"),
                        limit)


@router.get("/webhook-deliveries", openapi_extra=openapi.extra(params=_DELIVERIES))
async def all_deliveries(request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    limit = deps.query_int(request, "count", 100, minimum=1, maximum=500)
    return await db.run(_deliveries, db, ctx.server_id, None, deps.query(request, "state"), limit)


@router.post("/webhook-deliveries/{delivery_id}/retry")
async def retry_delivery(delivery_id: deps.ResourceId, request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    result = await db.run(_retry, db, ctx.server_id, delivery_id)
    deps.wake_worker(request)
    return result
