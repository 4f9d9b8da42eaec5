"""Bounce records: what the Bounce API lists and the bounce webhook carries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.store.schema import bounces


def insert_many(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Several bounces in one executemany; their ids, in the order of ``rows``."""
    if not rows:
        return []
    result = conn.execute(bounces.insert().returning(bounces.c.id, sort_by_parameter_order=True),
                          [dict(row) for row in rows])
    return [int(bounce_id) for bounce_id in result.scalars()]


def get(conn: Connection, server_id: int, bounce_id: int) -> RowMapping | None:
    return conn.execute(sa.select(bounces).where(bounces.c.server_id == server_id,
                                                 bounces.c.id == bounce_id)).mappings().first()


def by_recipient(conn: Connection, recipient_id: int) -> RowMapping | None:
    return conn.execute(sa.select(bounces).where(bounces.c.recipient_id == recipient_id)
                        ).mappings().first()


def search(conn: Connection, server_id: int, *, count: int, offset: int,
           bounce_type: str | None = None, inactive: bool | None = None,
           email_filter: str | None = None, tag: str | None = None,
           message_id: str | None = None, stream: str | None = None,
           from_date: datetime | None = None,
           to_date: datetime | None = None) -> tuple[int, list[RowMapping]]:
    where: list[Any] = [bounces.c.server_id == server_id]
    if bounce_type:
        where.append(sa.func.lower(bounces.c.bounce_type) == bounce_type.lower())
    if inactive is not None:
        where.append(bounces.c.inactive == inactive)
    if email_filter:
        where.append(bounces.c.email.ilike(f"%{email_filter.lower()}%"))
    if tag:
        where.append(bounces.c.tag == tag)
    if message_id:
        where.append(bounces.c.message_id == message_id.lower())
    if stream:
        where.append(bounces.c.stream == stream)
    if from_date:
        where.append(bounces.c.bounced_at >= from_date)
    if to_date:
        where.append(bounces.c.bounced_at <= to_date)
    total = conn.execute(sa.select(sa.func.count()).select_from(bounces).where(*where)
                         ).scalar_one()
    rows = conn.execute(sa.select(bounces).where(*where)
                        .order_by(bounces.c.bounced_at.desc(), bounces.c.id.desc())
                        .limit(count).offset(offset)).mappings().all()
    return int(total), list(rows)


def set_active(conn: Connection, server_id: int, stream: str, email: str) -> None:
    """Reactivating an address clears Inactive on every bounce that deactivated it."""
    conn.execute(bounces.update().where(
        bounces.c.server_id == server_id, bounces.c.stream == stream, bounces.c.email == email,
        bounces.c.inactive.is_(True)).values(inactive=False, can_activate=False))


def counts_by_type(conn: Connection, server_id: int) -> list[tuple[str, int]]:
    return [(t, int(n)) for t, n in conn.execute(
        sa.select(bounces.c.bounce_type, sa.func.count()).where(bounces.c.server_id == server_id)
        .group_by(bounces.c.bounce_type).order_by(bounces.c.bounce_type)).all()]


def inactive_count(conn: Connection, server_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count(sa.distinct(bounces.c.email))).where(
        bounces.c.server_id == server_id, bounces.c.inactive.is_(True))).scalar_one())
