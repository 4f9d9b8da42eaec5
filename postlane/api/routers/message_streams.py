"""Message Streams API."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, field_validator

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel
from postlane.api.request import read_model
from postlane.domain import payloads
from postlane.domain.errors import Entity, NameTaken
from postlane.domain.types import StreamType
from postlane.services import streams as stream_service
from postlane.store import streams
from postlane.store.database import Database
from postlane.store.schema import utcnow

router = APIRouter()

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
#: Default streams that must stay: every server sends transactional mail and receives.
_PERMANENT = ("outbound", "inbound")
UNSUBSCRIBE_HANDLING = ("None", "Postmark", "Custom")


class SubscriptionConfig(PostmarkModel):
    unsubscribe_handling_type: str = "None"

    @field_validator("unsubscribe_handling_type")
    @classmethod
    def _handling(cls, value: str) -> str:
        for kind in UNSUBSCRIBE_HANDLING:
            if kind.lower() == value.lower():
                return kind
        raise ValueError(f"must be one of {', '.join(UNSUBSCRIBE_HANDLING)}")


class StreamRequest(PostmarkModel):
    id: str | None = None
    name: str | None = Field(default=None, max_length=100)  # the columns' sizes
    description: str | None = Field(default=None, max_length=1000)
    message_stream_type: str | None = None
    subscription_management_configuration: SubscriptionConfig | None = None


def _list(db: Database, server_id: int, stream_type: str | None,
          include_archived: bool) -> dict[str, Any]:
    with db.read() as conn:
        rows = streams.listing(conn, server_id, stream_type, include_archived)
    return {"MessageStreams": [payloads.message_stream(r) for r in rows],
            "TotalCount": len(rows)}


def _get(db: Database, server_id: int, stream_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return payloads.message_stream(stream_service.require(conn, server_id, stream_id))


def _create(db: Database, server_id: int, req: StreamRequest) -> dict[str, Any]:
    stream_id = (req.id or "").strip()
    if not _ID_RE.match(stream_id):
        raise ApiError(ErrorCode.STREAM_INVALID, "ID must be 1-30 characters: lowercase letters, "
                       "digits, '-' and '_', starting with a letter or digit.")
    if not (req.name or "").strip():
        raise ApiError(ErrorCode.STREAM_INVALID, "Name is required.")
    kinds = {k.value.lower(): k for k in (StreamType.TRANSACTIONAL, StreamType.BROADCASTS)}
    kind = kinds.get((req.message_stream_type or "").lower())
    if kind is None:
        raise ApiError(ErrorCode.STREAM_INVALID,
                       "MessageStreamType must be Transactional or Broadcasts.")
    handling = (req.subscription_management_configuration or SubscriptionConfig())
    with db.write() as conn:
        if streams.get(conn, server_id, stream_id) is not None:
            raise NameTaken(Entity.STREAM, stream_id)
        streams.create(conn, server_id, stream_id, (req.name or "").strip(), kind,
                       req.description, handling.unsubscribe_handling_type)
        return payloads.message_stream(stream_service.require(conn, server_id, stream_id))


def _edit(db: Database, server_id: int, stream_id: str, req: StreamRequest) -> dict[str, Any]:
    if req.name is not None and not req.name.strip():
        raise ApiError(ErrorCode.STREAM_INVALID, "Name cannot be empty.")
    handling = req.subscription_management_configuration
    with db.write() as conn:
        stream_service.require(conn, server_id, stream_id)
        streams.update(conn, server_id, stream_id.lower(),
                       req.name.strip() if req.name else None, req.description,
                       handling.unsubscribe_handling_type if handling else None)
        return payloads.message_stream(stream_service.require(conn, server_id, stream_id))


def _archive(db: Database, server_id: int, stream_id: str) -> dict[str, Any]:
    with db.write() as conn:
        row = stream_service.require(conn, server_id, stream_id)
        if row.id in _PERMANENT:
            raise ApiError(ErrorCode.STREAM_INVALID,
                           f"The default '{row.id}' stream cannot be archived.")
        when = row.archived_at or utcnow()
        streams.set_archived(conn, server_id, row.id, when)
    return {"ID": row.id, "ServerID": server_id,
            "ExpectedPurgeDate": payloads.iso(when + payloads.STREAM_PURGE_AFTER)}


def _unarchive(db: Database, server_id: int, stream_id: str) -> dict[str, Any]:
    with db.write() as conn:
        row = stream_service.require(conn, server_id, stream_id)
        streams.set_archived(conn, server_id, row.id, None)
        return payloads.message_stream(stream_service.require(conn, server_id, stream_id))


_LIST = [openapi.query("MessageStreamType", enum=["All", "Transactional", "Broadcasts", "Inbound"]),
         openapi.query("IncludeArchivedStreams", "boolean")]


@router.get("/message-streams", openapi_extra=openapi.extra(params=_LIST))
async def list_streams(request: Request,
                       ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    stream_type = deps.query(request, "MessageStreamType")
    if stream_type and stream_type.lower() == "all":
        stream_type = None
    include_archived = bool(deps.query_bool(request, "IncludeArchivedStreams"))
    db = deps.db(request)
    return await db.run(_list, db, ctx.server_id, stream_type, include_archived)


@router.post("/message-streams", openapi_extra=openapi.extra(StreamRequest))
async def create_stream(request: Request,
                        ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await read_model(request, StreamRequest, ErrorCode.STREAM_INVALID)
    db = deps.db(request)
    return await db.run(_create, db, ctx.server_id, req)


@router.get("/message-streams/{stream_id}")
async def get_stream(stream_id: deps.StreamId, request: Request,
                     ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, ctx.server_id, stream_id)


@router.patch("/message-streams/{stream_id}", openapi_extra=openapi.extra(StreamRequest))
async def edit_stream(stream_id: deps.StreamId, request: Request,
                      ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await read_model(request, StreamRequest, ErrorCode.STREAM_INVALID)
    db = deps.db(request)
    return await db.run(_edit, db, ctx.server_id, stream_id, req)


@router.post("/message-streams/{stream_id}/archive")
async def archive_stream(stream_id: deps.StreamId, request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_archive, db, ctx.server_id, stream_id)


@router.post("/message-streams/{stream_id}/unarchive")
async def unarchive_stream(stream_id: deps.StreamId, request: Request,
                           ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_unarchive, db, ctx.server_id, stream_id)
