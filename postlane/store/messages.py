"""Outbound messages, their recipients (one row each, the unit the pipeline works on)
and their event history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain.types import EventType, RecipientStatus
from postlane.store.schema import message_events, messages, recipients, utcnow


def recipient_row(message_id: str, server_id: int, key: str, given: str,
                  now: datetime) -> dict[str, Any]:
    return {"message_id": message_id, "server_id": server_id, "email": key, "address": given,
            "status": RecipientStatus.QUEUED.value, "updated_at": now}


def insert_many(conn: Connection, message_rows: Sequence[Mapping[str, Any]],
                recipient_rows: Sequence[Mapping[str, Any]]) -> None:
    """Messages and their recipients, one executemany per table."""
    if message_rows:
        conn.execute(messages.insert(), list(message_rows))
    if recipient_rows:
        conn.execute(recipients.insert(), list(recipient_rows))


def get_many(conn: Connection, message_ids: Sequence[str]) -> dict[str, RowMapping]:
    """Messages by id (of any server: the pipeline's view), in one query."""
    if not message_ids:
        return {}
    rows = conn.execute(sa.select(messages).where(messages.c.id.in_(list(message_ids))))
    return {row["id"]: row for row in rows.mappings()}


def get(conn: Connection, server_id: int | None, message_id: str) -> RowMapping | None:
    where = [messages.c.id == message_id.lower()]
    if server_id is not None:
        where.append(messages.c.server_id == server_id)
    return conn.execute(sa.select(messages).where(*where)).mappings().first()


def recipients_of(conn: Connection, message_id: str,
                  status: RecipientStatus | None = None) -> list[RowMapping]:
    where = [recipients.c.message_id == message_id]
    if status is not None:
        where.append(recipients.c.status == status.value)
    return list(conn.execute(sa.select(recipients).where(*where).order_by(recipients.c.id)
                             ).mappings().all())


def set_recipient_status(conn: Connection, recipient_ids: Sequence[int],
                         status: RecipientStatus) -> None:
    if recipient_ids:
        conn.execute(recipients.update().where(recipients.c.id.in_(recipient_ids))
                     .values(status=status.value, updated_at=utcnow()))


def add_event(conn: Connection, message_id: str, recipient: str, event_type: EventType,
              details: Mapping[str, Any], when: datetime | None = None) -> None:
    add_events(conn, [event_row(message_id, recipient, event_type, details, when)])


def event_row(message_id: str, recipient: str, event_type: EventType,
              details: Mapping[str, Any], when: datetime | None = None) -> dict[str, Any]:
    return {"message_id": message_id, "recipient": recipient, "event_type": event_type.value,
            "details": dict(details), "occurred_at": when or utcnow()}


def add_events(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Events made with :func:`event_row`, in one executemany."""
    if rows:
        conn.execute(message_events.insert(), list(rows))


def events_of(conn: Connection, message_id: str) -> list[RowMapping]:
    return list(conn.execute(sa.select(message_events)
                             .where(message_events.c.message_id == message_id)
                             .order_by(message_events.c.occurred_at, message_events.c.id)
                             ).mappings().all())


def search(conn: Connection, server_id: int, *, count: int, offset: int,
           recipient: str | None = None, from_email: str | None = None, tag: str | None = None,
           status: str | None = None, subject: str | None = None, stream: str | None = None,
           from_date: datetime | None = None,
           to_date: datetime | None = None) -> tuple[int, list[RowMapping]]:
    where: list[Any] = [messages.c.server_id == server_id]
    if recipient:
        where.append(messages.c.id.in_(sa.select(recipients.c.message_id).where(
            recipients.c.server_id == server_id, recipients.c.email == recipient.lower())))
    if from_email:
        where.append(messages.c.from_field.ilike(f"%{from_email}%"))
    if tag:
        where.append(messages.c.tag == tag)
    if subject:
        where.append(messages.c.subject.ilike(f"%{subject}%"))
    if stream:
        where.append(messages.c.stream == stream)
    if from_date:
        where.append(messages.c.received_at >= from_date)
    if to_date:
        where.append(messages.c.received_at <= to_date)
    if status:
        where.append(messages.c.id.in_(sa.select(recipients.c.message_id).where(
            recipients.c.server_id == server_id,
            sa.func.lower(recipients.c.status) == status.lower())))
    total = conn.execute(sa.select(sa.func.count()).select_from(messages).where(*where)
                         ).scalar_one()
    rows = conn.execute(sa.select(messages).where(*where)
                        .order_by(messages.c.received_at.desc(), messages.c.id)
                        .limit(count).offset(offset)).mappings().all()
    return int(total), list(rows)


def recipients_by_message(conn: Connection, message_ids: Sequence[str],
                          status: RecipientStatus | None = None) -> dict[str, list[RowMapping]]:
    """The recipients of several messages in one query (a listing page, or a batch of
    pipeline steps, is not N+1)."""
    out: dict[str, list[RowMapping]] = {mid: [] for mid in message_ids}
    if message_ids:
        where: list[Any] = [recipients.c.message_id.in_(list(message_ids))]
        if status is not None:
            where.append(recipients.c.status == status.value)
        rows = conn.execute(sa.select(recipients).where(*where)
                            .order_by(recipients.c.id)).mappings().all()
        for row in rows:
            out[row["message_id"]].append(row)
    return out
