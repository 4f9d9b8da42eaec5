"""Issue 9: an integer id is never handed out again after its row is deleted, on both
backends (SQLite AUTOINCREMENT, PostgreSQL identity sequences), for every integer-keyed
table: a client still holding a deleted server's or webhook's id must not reach a new
row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from postlane.store.database import Database
from postlane.store.schema import (
    bounces,
    clicks,
    inbound_reports,
    jobs,
    message_events,
    messages,
    metadata,
    opens,
    recipients,
    servers,
    suppressions,
    templates,
    utcnow,
    webhook_deliveries,
    webhooks,
)

Row = Callable[[int, str, int], dict[str, Any]]  # (server id, message id, n) -> values


def _server(_sid: int, _mid: str, n: int) -> dict[str, Any]:
    return {"name": f"server {n} {uuid.uuid4().hex[:6]}", "delivery_type": "Sandbox",
            "inbound_hash": uuid.uuid4().hex, "created_at": utcnow()}


ROWS: dict[str, Row] = {
    "servers": _server,
    "recipients": lambda sid, mid, n: {
        "message_id": mid, "server_id": sid, "email": f"r{n}@example.com",
        "address": f"r{n}@example.com", "status": "queued", "updated_at": utcnow()},
    "message_events": lambda sid, mid, n: {
        "message_id": mid, "recipient": f"r{n}@example.com", "event_type": "Delivered",
        "occurred_at": utcnow()},
    "suppressions": lambda sid, mid, n: {
        "server_id": sid, "stream": "outbound", "email": f"s{n}@example.com",
        "reason": "ManualSuppression", "origin": "Customer", "created_at": utcnow()},
    "bounces": lambda sid, mid, n: {
        "server_id": sid, "stream": "outbound", "message_id": mid, "bounce_type": "HardBounce",
        "type_code": 1, "name": "Hard bounce", "description": "gone",
        "email": f"b{n}@example.com", "bounced_at": utcnow()},
    "webhooks": lambda sid, mid, n: {
        "server_id": sid, "url": f"https://hooks.example.com/{n}", "stream": "outbound",
        "created_at": utcnow()},
    "webhook_deliveries": lambda sid, mid, n: {
        "server_id": sid, "url": f"https://hooks.example.com/{n}", "record_type": "Bounce",
        "payload": {"n": n}, "state": "queued", "created_at": utcnow()},
    "jobs": lambda sid, mid, n: {
        "kind": "deliver", "ref": str(n), "state": "queued", "max_attempts": 3,
        "run_at": utcnow(), "created_at": utcnow()},
    "inbound_reports": lambda sid, mid, n: {
        "raw": b"report", "size": 6, "received_at": utcnow(), "state": "received"},
    "templates": lambda sid, mid, n: {
        "server_id": sid, "name": f"T{n}", "template_type": "Standard", "subject": "s",
        "text_body": "t", "active": True, "created_at": utcnow()},
    "opens": lambda sid, mid, n: {
        "server_id": sid, "message_id": mid, "recipient_id": n,
        "recipient": f"r{n}@example.com", "first_open": n == 1, "received_at": utcnow()},
    "clicks": lambda sid, mid, n: {
        "server_id": sid, "message_id": mid, "recipient_id": n,
        "recipient": f"r{n}@example.com", "original_link": "https://example.com/",
        "click_location": "HTML", "received_at": utcnow()},
}
TABLES = {t.name: t for t in (servers, recipients, message_events, suppressions, bounces,
                              webhooks, webhook_deliveries, jobs, inbound_reports,
                              templates, opens, clicks)}


def integer_keyed() -> set[str]:
    return {t.name for t in metadata.sorted_tables
            if [c.name for c in t.primary_key] == ["id"]
            and isinstance(t.c.id.type, sa.Integer)}


def test_every_integer_keyed_table_is_covered() -> None:
    """A new integer-keyed table must be added here (and get sqlite_autoincrement)."""
    assert integer_keyed() == set(ROWS) == set(TABLES)
    assert all(metadata.tables[n].dialect_options["sqlite"]["autoincrement"]
               for n in integer_keyed())


def insert_server_and_message(conn: sa.Connection) -> tuple[int, str]:
    sid = int(conn.execute(servers.insert().values(_server(0, "", 0))).inserted_primary_key[0])
    mid = str(uuid.uuid4())
    conn.execute(messages.insert().values(id=mid, server_id=sid, stream="outbound",
                                          source="api", from_field="a@example.com",
                                          received_at=utcnow()))
    return sid, mid


def delete_newest_then_insert(conn: sa.Connection, name: str, sid: int, mid: str
                              ) -> tuple[int, int]:
    """Returns (the deleted newest id, the id the next row got)."""
    table, row = TABLES[name], ROWS[name]
    for n in range(1, 4):
        conn.execute(table.insert().values(row(sid, mid, n)))
    newest = int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar_one())
    conn.execute(table.delete().where(table.c.id == newest))
    fresh = conn.execute(table.insert().values(row(sid, mid, 9))).inserted_primary_key[0]
    return newest, int(fresh)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_deleted_newest_id_is_not_handed_out_again(db: Database, name: str) -> None:
    with db.write() as conn:
        sid, mid = insert_server_and_message(conn)
    with db.write() as conn:  # the delete and the insert in separate transactions too
        newest, fresh = delete_newest_then_insert(conn, name, sid, mid)
    assert fresh > newest
    with db.write() as conn:
        table = TABLES[name]
        conn.execute(table.delete().where(table.c.id == fresh))
    with db.write() as conn:
        again = conn.execute(table.insert().values(ROWS[name](sid, mid, 10))
                             ).inserted_primary_key[0]
    assert again > fresh
