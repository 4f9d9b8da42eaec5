"""Message streams of a server."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.domain.records import Stream
from postlane.domain.types import StreamType
from postlane.store.rows import record
from postlane.store.schema import message_streams, utcnow


def create(conn: Connection, server_id: int, stream_id: str, name: str, stream_type: StreamType,
           description: str | None = None, unsubscribe_handling: str = "None") -> None:
    conn.execute(message_streams.insert().values(
        server_id=server_id, id=stream_id, name=name, description=description,
        stream_type=stream_type.value, unsubscribe_handling=unsubscribe_handling,
        created_at=utcnow()))


def stream_record(row: Mapping[Any, Any]) -> Stream:
    return record(Stream, row, stream_type=StreamType(row["stream_type"]))


_stream = stream_record


def get(conn: Connection, server_id: int, stream_id: str) -> Stream | None:
    row = conn.execute(sa.select(message_streams).where(
        message_streams.c.server_id == server_id, message_streams.c.id == stream_id.lower())
    ).mappings().first()
    return _stream(row) if row is not None else None


def listing(conn: Connection, server_id: int, stream_type: str | None,
            include_archived: bool) -> list[Stream]:
    where = [message_streams.c.server_id == server_id]
    if stream_type:
        where.append(sa.func.lower(message_streams.c.stream_type) == stream_type.lower())
    if not include_archived:
        where.append(message_streams.c.archived_at.is_(None))
    rows = conn.execute(sa.select(message_streams).where(*where)
                        .order_by(message_streams.c.created_at, message_streams.c.id)
                        ).mappings().all()
    return [_stream(row) for row in rows]


def update(conn: Connection, server_id: int, stream_id: str, name: str | None,
           description: str | None, unsubscribe_handling: str | None) -> None:
    values: dict[str, object] = {"updated_at": utcnow()}
    if name is not None:
        values["name"] = name
    if description is not None:
        values["description"] = description
    if unsubscribe_handling is not None:
        values["unsubscribe_handling"] = unsubscribe_handling
    conn.execute(message_streams.update().where(
        message_streams.c.server_id == server_id, message_streams.c.id == stream_id
    ).values(**values))


def set_archived(conn: Connection, server_id: int, stream_id: str, when: datetime | None) -> None:
    conn.execute(message_streams.update().where(
        message_streams.c.server_id == server_id, message_streams.c.id == stream_id
    ).values(archived_at=when, updated_at=utcnow()))
