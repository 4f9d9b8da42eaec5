"""Bounce records: what the Bounce API lists and the bounce webhook carries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain.records import Bounce, BounceCount, NewBounce, Page
from postlane.store.rows import column_values, record
from postlane.store.schema import bounces


def insert_many(conn: Connection, new: Sequence[NewBounce]) -> list[Bounce]:
    """Several bounces in one executemany; the stored bounces, in the order given."""
    if not new:
        return []
    rows = [column_values(bounce) for bounce in new]
    result = conn.execute(bounces.insert().returning(bounces.c.id, sort_by_parameter_order=True),
                          rows)
    return [Bounce(**row, id=int(bounce_id))
            for row, bounce_id in zip(rows, result.scalars(), strict=True)]


def _bounce(row: RowMapping) -> Bounce:
    return record(Bounce, row)


def _first(conn: Connection, *where: sa.ColumnElement[bool]) -> Bounce | None:
    row = conn.execute(sa.select(bounces).where(*where)).mappings().first()
    return _bounce(row) if row is not None else None


def get(conn: Connection, server_id: int, bounce_id: int) -> Bounce | None:
    return _first(conn, bounces.c.server_id == server_id, bounces.c.id == bounce_id)


def by_recipient(conn: Connection, recipient_id: int) -> Bounce | None:
    return _first(conn, bounces.c.recipient_id == recipient_id)


def search(conn: Connection, server_id: int, *, count: int, offset: int,
           bounce_type: str | None = None, inactive: bool | None = None,
           email_filter: str | None = None, tag: str | None = None,
           message_id: str | None = None, stream: str | None = None,
           from_date: datetime | None = None,
           to_date: datetime | None = None) -> Page[Bounce]:
    where: list[Any] = [bounces.c.server_id == server_id]
    if bounce_type:
        where.append(sa.func.lower(bounces.c.bounce_type) == bounce_type.lower())
    if inactive is not None:
        where.append(bounces.c.inactive == inactive)
    if email_filter:
        where.append(bounces.c.email.icontains(email_filter, autoescape=True))
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
                        .limit(count).offset(offset)).mappings()
    return Page(int(total), [_bounce(row) for row in rows])



def set_active(conn: Connection, server_id: int, stream: str, email: str) -> None:
    """Reactivating an address clears Inactive on every bounce that deactivated it."""
    conn.execute(bounces.update().where(
        bounces.c.server_id == server_id, bounces.c.stream == stream, bounces.c.email == email,
        bounces.c.inactive.is_(True)).values(inactive=False, can_activate=False))


def counts_by_type(conn: Connection, server_id: int) -> list[BounceCount]:
    return [BounceCount(t, int(n)) for t, n in conn.execute(
        sa.select(bounces.c.bounce_type, sa.func.count()).where(bounces.c.server_id == server_id)
        .group_by(bounces.c.bounce_type).order_by(bounces.c.bounce_type)).all()]


def distinct_tags(conn: Connection, server_id: int) -> list[str]:
    """Every non-empty tag on the server's bounces, sorted (legacy ``GET /bounces/tags``)."""
    return [str(t) for (t,) in conn.execute(
        sa.select(bounces.c.tag).distinct().where(
            bounces.c.server_id == server_id, bounces.c.tag != "")
        .order_by(bounces.c.tag)).all()]


def inactive_count(conn: Connection, server_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count(sa.distinct(bounces.c.email))).where(
        bounces.c.server_id == server_id, bounces.c.inactive.is_(True))).scalar_one())
