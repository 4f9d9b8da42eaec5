"""Message Streams API: list, get, create, edit, archive and unarchive, with Postmark's
rules and its 12xx codes and wording (the rules that hold for every front door live in
services.streams; the form of each field is checked here)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import field_validator

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, server_token
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel
from postlane.api.request import read_model
from postlane.domain import limits, payloads
from postlane.domain.types import StreamType
from postlane.services import streams as stream_service
from postlane.store import streams
from postlane.store.database import Database

router = APIRouter()

#: Postmark's ID rule (error 1227): a letter first, then lowercase letters, digits, '-'
#: and '_', at most limits.STREAM_ID_LENGTH characters.
_ID_RE = re.compile(rf"^[a-z][a-z0-9_-]{{0,{limits.STREAM_ID_LENGTH - 1}}}$")
#: IDs Postmark keeps for itself: its own "pm-" prefix (1233) and "all" (1237, the
#: listing's MessageStreamType filter word).
_ID_PREFIX_RESERVED = "pm-"
_IDS_RESERVED = ("all",)
UNSUBSCRIBE_HANDLING = ("None", "Postmark", "Custom")

#: Postmark's wording for each rule (its 12xx error table).
_WORDING = {
    ErrorCode.STREAM_TYPE_INVALID:
        "The 'MessageStreamType' associated with this request was invalid.",
    ErrorCode.STREAM_ID_REQUIRED: "A valid 'ID' must be provided.",
    ErrorCode.STREAM_NAME_REQUIRED: "A valid 'Name' must be provided.",
    ErrorCode.STREAM_NAME_TOO_LONG:
        f"The 'Name' is too long, it is limited to {limits.STREAM_NAME_LENGTH} characters.",
    ErrorCode.STREAM_ID_INVALID:
        "The 'ID' must be a non-empty string starting with a letter of the English "
        "alphabet. It is limited to lowercase letters of the English alphabet, numbers, "
        f"and '-', '_' characters. It is limited to a length of {limits.STREAM_ID_LENGTH} "
        "characters.",
    ErrorCode.STREAM_DESCRIPTION_TOO_LONG:
        "The 'Description' is too long, it is limited to "
        f"{limits.STREAM_DESCRIPTION_LENGTH} characters.",
    ErrorCode.STREAM_ID_PM_PREFIX: "The 'ID' must not start with the 'pm-' prefix.",
    ErrorCode.STREAM_DESCRIPTION_HTML: "The 'Description' must not contain HTML tags.",
    ErrorCode.STREAM_ID_RESERVED: "This 'ID' is reserved.",
}


def _refuse(code: ErrorCode) -> ApiError:
    return ApiError(code, _WORDING[code])


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
    name: str | None = None
    description: str | None = None
    message_stream_type: str | None = None
    subscription_management_configuration: SubscriptionConfig | None = None


def _checked_id(value: str | None) -> str:
    stream_id = (value or "").strip()
    if not stream_id:
        raise _refuse(ErrorCode.STREAM_ID_REQUIRED)
    if stream_id.startswith(_ID_PREFIX_RESERVED):
        raise _refuse(ErrorCode.STREAM_ID_PM_PREFIX)
    if stream_id in _IDS_RESERVED:
        raise _refuse(ErrorCode.STREAM_ID_RESERVED)
    if not _ID_RE.match(stream_id):
        raise _refuse(ErrorCode.STREAM_ID_INVALID)
    return stream_id


def _checked_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise _refuse(ErrorCode.STREAM_NAME_REQUIRED)
    if len(name) > limits.STREAM_NAME_LENGTH:
        raise _refuse(ErrorCode.STREAM_NAME_TOO_LONG)
    return name


def _checked_description(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > limits.STREAM_DESCRIPTION_LENGTH:
        raise _refuse(ErrorCode.STREAM_DESCRIPTION_TOO_LONG)
    if "<" in value or ">" in value:
        raise _refuse(ErrorCode.STREAM_DESCRIPTION_HTML)
    return value


def _checked_type(value: str | None) -> StreamType:
    """Any case of a stream type (Inbound too: the service refuses a second one with its
    own error); 1221 for anything else."""
    kinds = {k.value.lower(): k for k in StreamType}
    kind = kinds.get((value or "").strip().lower())
    if kind is None:
        raise _refuse(ErrorCode.STREAM_TYPE_INVALID)
    return kind


def _new_stream(req: StreamRequest) -> stream_service.NewStream:
    """The request's fields checked one at a time (the ID, then Name, Description and
    type): the first that breaks a rule is the answer."""
    stream_id = _checked_id(req.id)
    name = _checked_name(req.name or "")
    description = _checked_description(req.description)
    kind = _checked_type(req.message_stream_type)
    handling = req.subscription_management_configuration or SubscriptionConfig()
    return stream_service.NewStream(stream_id, name, kind, description,
                                    handling.unsubscribe_handling_type)


def _list(db: Database, server_id: int, stream_type: str | None,
          include_archived: bool) -> dict[str, Any]:
    with db.read() as conn:
        rows = streams.listing(conn, server_id, stream_type, include_archived)
    return {"MessageStreams": [payloads.message_stream(r) for r in rows],
            "TotalCount": len(rows)}


def _get(db: Database, server_id: int, stream_id: str) -> dict[str, Any]:
    with db.read() as conn:
        return payloads.message_stream(stream_service.require(conn, server_id, stream_id))


def _create(db: Database, server_id: int, new: stream_service.NewStream) -> dict[str, Any]:
    with db.write() as conn:
        return payloads.message_stream(stream_service.create(conn, server_id, new))


def _edit(db: Database, server_id: int, stream_id: str, req: StreamRequest) -> dict[str, Any]:
    name = _checked_name(req.name) if req.name is not None else None
    description = _checked_description(req.description)
    handling = req.subscription_management_configuration
    with db.write() as conn:
        stream = stream_service.require(conn, server_id, stream_id)
        streams.update(conn, server_id, stream.id, name, description,
                       handling.unsubscribe_handling_type if handling else None)
        return payloads.message_stream(stream_service.require(conn, server_id, stream.id))


def _archive(db: Database, server_id: int, stream_id: str) -> dict[str, Any]:
    """Postmark's archive answer: the stream's ID, its server and when it will be purged."""
    with db.write() as conn:
        when = stream_service.archive(conn, server_id, stream_id)
    return {"ID": stream_id.lower(), "ServerID": server_id,
            "ExpectedPurgeDate": payloads.iso(payloads.stream_purge_date(when))}


def _unarchive(db: Database, server_id: int, stream_id: str) -> dict[str, Any]:
    """Postmark's unarchive answer: the stream itself."""
    with db.write() as conn:
        return payloads.message_stream(stream_service.unarchive(conn, server_id, stream_id))


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
    req = await read_model(request, StreamRequest, ErrorCode.INCOMPATIBLE_JSON)
    db = deps.db(request)
    return await db.run(_create, db, ctx.server_id, _new_stream(req))


@router.get("/message-streams/{stream_id}")
async def get_stream(stream_id: deps.StreamId, request: Request,
                     ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, ctx.server_id, stream_id)


@router.patch("/message-streams/{stream_id}", openapi_extra=openapi.extra(StreamRequest))
async def edit_stream(stream_id: deps.StreamId, request: Request,
                      ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await read_model(request, StreamRequest, ErrorCode.INCOMPATIBLE_JSON)
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
