"""Suppression lists, keyed by (server, stream, normalised address)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain.records import Suppression
from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.store.rows import record
from postlane.store.schema import suppressions, utcnow

#: Keep IN lists well under every driver's parameter limit.
_CHUNK = 500
#: Rows per executemany in add_many (bounds the parameter lists held in memory).
_INSERT_CHUNK = 5000


def lookup(conn: Connection, server_id: int, stream: str,
           emails: Iterable[str]) -> dict[str, Suppression]:
    """Suppressions among ``emails`` (already normalised), in one query per 500 addresses."""
    wanted = sorted(set(emails))
    found: dict[str, Suppression] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        rows = conn.execute(sa.select(suppressions).where(
            suppressions.c.server_id == server_id, suppressions.c.stream == stream,
            suppressions.c.email.in_(chunk))).mappings()
        found.update((row["email"], _suppression(row)) for row in rows)
    return found


def _suppression(row: RowMapping) -> Suppression:
    return record(Suppression, row, reason=SuppressionReason(row["reason"]),
                  origin=SuppressionOrigin(row["origin"]))


def get(conn: Connection, server_id: int, stream: str, email: str) -> Suppression | None:
    row = conn.execute(sa.select(suppressions).where(
        suppressions.c.server_id == server_id, suppressions.c.stream == stream,
        suppressions.c.email == email)).mappings().first()
    return _suppression(row) if row is not None else None


def add(conn: Connection, server_id: int, stream: str, email: str, reason: SuppressionReason,
        origin: SuppressionOrigin) -> bool:
    """Insert unless present (an existing suppression keeps its original reason)."""
    return add_many(conn, server_id, stream, [email], reason, origin) == 1


def add_many(conn: Connection, server_id: int, stream: str, emails: Iterable[str],
             reason: SuppressionReason, origin: SuppressionOrigin) -> int:
    """Bulk :func:`add` for normalised addresses: INSERT ... ON CONFLICT DO NOTHING,
    executemany in chunks, so existing suppressions keep their reason. Returns how many
    were new.

    Sorted, so concurrent imports take row locks in one order (PostgreSQL: no deadlock)."""
    added = 0
    for statement, rows in _inserts(conn, server_id, stream, emails, reason, origin):
        added += conn.execute(statement, rows,
                              execution_options={"preserve_rowcount": True}).rowcount
    return added


def add_new(conn: Connection, server_id: int, stream: str, emails: Iterable[str],
            reason: SuppressionReason, origin: SuppressionOrigin) -> list[str]:
    """:func:`add_many` that names the addresses it added (RETURNING: exact under
    concurrent writers, where reading first would not be), for announcing them."""
    added: list[str] = []
    for statement, rows in _inserts(conn, server_id, stream, emails, reason, origin):
        added += conn.execute(statement.returning(suppressions.c.email), rows).scalars()
    return sorted(added)


def _inserts(conn: Connection, server_id: int, stream: str, emails: Iterable[str],
             reason: SuppressionReason, origin: SuppressionOrigin
             ) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """The ON CONFLICT DO NOTHING insert and its rows, chunk by chunk."""
    wanted = sorted(set(emails))
    if not wanted:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        insert: Any = postgresql.insert(suppressions)
    elif dialect == "sqlite":
        insert = sqlite.insert(suppressions)
    else:  # pragma: no cover - only the two supported backends
        raise RuntimeError(f"add_many: unsupported database {dialect}")
    statement = insert.on_conflict_do_nothing(
        index_elements=[suppressions.c.server_id, suppressions.c.stream, suppressions.c.email])
    now = utcnow()
    for start in range(0, len(wanted), _INSERT_CHUNK):
        yield statement, [{"server_id": server_id, "stream": stream, "email": email,
                           "reason": reason.value, "origin": origin.value, "created_at": now}
                          for email in wanted[start:start + _INSERT_CHUNK]]


def delete(conn: Connection, server_id: int, stream: str, email: str) -> bool:
    return conn.execute(suppressions.delete().where(
        suppressions.c.server_id == server_id, suppressions.c.stream == stream,
        suppressions.c.email == email)).rowcount > 0


def dump(conn: Connection, server_id: int, stream: str, *, reason: str | None = None,
         origin: str | None = None, email: str | None = None, from_date: datetime | None = None,
         to_date: datetime | None = None, limit: int | None = None) -> list[Suppression]:
    where = [suppressions.c.server_id == server_id, suppressions.c.stream == stream]
    if reason:
        where.append(sa.func.lower(suppressions.c.reason) == reason.lower())
    if origin:
        where.append(sa.func.lower(suppressions.c.origin) == origin.lower())
    if email:
        where.append(suppressions.c.email == email)
    if from_date:
        where.append(suppressions.c.created_at >= from_date)
    if to_date:
        where.append(suppressions.c.created_at <= to_date)
    query = sa.select(suppressions).where(*where).order_by(suppressions.c.created_at.desc(),
                                                           suppressions.c.id.desc())
    if limit:
        query = query.limit(limit)
    return [_suppression(row) for row in conn.execute(query).mappings()]


def count(conn: Connection, server_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(suppressions)
                            .where(suppressions.c.server_id == server_id)).scalar_one())
