"""Servers and their settings. A new server always gets its three default streams and a
token, in one transaction, so no half-made server is ever visible."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.domain.records import Page, Server, Stream
from postlane.domain.types import DEFAULT_STREAMS, DeliveryType
from postlane.store import streams, tokens
from postlane.store.rows import record
from postlane.store.schema import message_streams, servers, utcnow

#: Columns a client may set (API field names are mapped onto these by the API layer).
SETTABLE = (
    "name", "color", "delivery_type", "smtp_api_activated", "enable_smtp_api_error_hooks",
    "raw_email_enabled", "bounce_hook_url", "delivery_hook_url", "open_hook_url",
    "click_hook_url", "inbound_hook_url", "post_first_open_only", "track_opens", "track_links",
    "include_bounce_content_in_hook", "inbound_domain", "inbound_spam_threshold",
)


def create(conn: Connection, name: str, settings: Mapping[str, Any] | None = None,
           token: str | None = None) -> int:
    values: dict[str, Any] = {
        "name": name, "color": "Blue", "delivery_type": DeliveryType.LIVE.value,
        "smtp_api_activated": True, "enable_smtp_api_error_hooks": False,
        "raw_email_enabled": False, "bounce_hook_url": "", "delivery_hook_url": "",
        "open_hook_url": "", "click_hook_url": "", "inbound_hook_url": "",
        "post_first_open_only": False, "track_opens": False, "track_links": "None",
        "include_bounce_content_in_hook": False, "inbound_domain": "",
        "inbound_hash": uuid.uuid4().hex, "inbound_spam_threshold": 0, "created_at": utcnow(),
    }
    values.update({k: v for k, v in (settings or {}).items() if k in SETTABLE})
    server_id = int(conn.execute(servers.insert().values(**values)
                   .returning(servers.c.id)).scalar_one())
    for stream_id, stream_name, stream_type in DEFAULT_STREAMS:
        streams.create(conn, server_id, stream_id, stream_name, stream_type)
    tokens.add_server_token(conn, server_id, token)
    return server_id


def _server(row: Mapping[Any, Any]) -> Server:
    return record(Server, row, delivery_type=DeliveryType(row["delivery_type"]))


def _first(conn: Connection, *where: sa.ColumnElement[bool]) -> Server | None:
    row = conn.execute(sa.select(servers).where(*where)).mappings().first()
    return _server(row) if row is not None else None


def with_stream(conn: Connection, server_id: int, stream_id: str
                ) -> tuple[Server | None, Stream | None]:
    """A server and one of its streams in one query (the send path's check, once per
    group commit): (None, None) without the server, (server, None) without the stream."""
    ms = message_streams
    wanted = sa.and_(ms.c.server_id == servers.c.id, ms.c.id == stream_id.lower())
    row = conn.execute(
        sa.select(*(c.label(f"s_{c.name}") for c in servers.c),
                  *(c.label(f"m_{c.name}") for c in ms.c))
        .select_from(servers.outerjoin(ms, wanted))
        .where(servers.c.id == server_id)).mappings().first()
    if row is None:
        return None, None
    server = _server({c.name: row[f"s_{c.name}"] for c in servers.c})
    if row["m_id"] is None:
        return server, None
    return server, streams.stream_record({c.name: row[f"m_{c.name}"] for c in ms.c})


def get(conn: Connection, server_id: int) -> Server | None:
    return _first(conn, servers.c.id == server_id)


def get_many(conn: Connection, server_ids: Iterable[int]) -> dict[int, Server]:
    wanted = sorted(set(server_ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(servers).where(servers.c.id.in_(wanted))).mappings()
    return {server.id: server for server in map(_server, rows)}


def by_name(conn: Connection, name: str) -> Server | None:
    """The server of that name, in any letter case. The exact name is asked for too:
    SQLite's lower() folds ASCII only, so a name with other capitals would otherwise be
    missed and reach the unique index as a duplicate."""
    return _first(conn, sa.or_(servers.c.name == name,
                               sa.func.lower(servers.c.name) == name.lower()))


def listing(conn: Connection, count: int, offset: int, name: str | None) -> Page[Server]:
    where = [servers.c.name.icontains(name, autoescape=True)] if name else []
    total = conn.execute(sa.select(sa.func.count()).select_from(servers).where(*where)).scalar_one()
    rows = conn.execute(sa.select(servers).where(*where).order_by(servers.c.id)
                        .limit(count).offset(offset)).mappings().all()
    return Page(int(total), [_server(row) for row in rows])


def update(conn: Connection, server_id: int, changes: Mapping[str, Any]) -> None:
    values = {k: v for k, v in changes.items() if k in SETTABLE}
    if values:
        conn.execute(servers.update().where(servers.c.id == server_id).values(**values))


def delete(conn: Connection, server_id: int) -> bool:
    return conn.execute(servers.delete().where(servers.c.id == server_id)).rowcount > 0


def first_id(conn: Connection) -> int | None:
    return conn.execute(sa.select(sa.func.min(servers.c.id))).scalar()
