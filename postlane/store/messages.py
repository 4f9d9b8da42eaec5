"""Outbound messages, their recipients (one row each, the unit the pipeline works on)
and their event history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain import addresses, outcomes
from postlane.domain.records import Message, MessageEvent, Page, Recipient
from postlane.domain.types import EventType, RecipientStatus, Source
from postlane.store.rows import record
from postlane.store.schema import message_events, messages, recipients, utcnow


def _message(row: RowMapping) -> Message:
    raw = row["raw"]
    return record(Message, row, source=Source(row["source"]),
                  raw=bytes(raw) if raw is not None else None)


def _recipient(row: RowMapping) -> Recipient:
    return record(Recipient, row, status=RecipientStatus(row["status"]))


def _event(row: RowMapping) -> MessageEvent:
    return record(MessageEvent, row, event_type=EventType(row["event_type"]))


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


def get_many(conn: Connection, message_ids: Sequence[str]) -> dict[str, Message]:
    """Messages by id (of any server: the pipeline's view), in one query."""
    if not message_ids:
        return {}
    rows = conn.execute(sa.select(messages).where(messages.c.id.in_(list(message_ids))))
    return {message.id: message for message in map(_message, rows.mappings())}


def get(conn: Connection, server_id: int | None, message_id: str) -> Message | None:
    where = [messages.c.id == message_id.lower()]
    if server_id is not None:
        where.append(messages.c.server_id == server_id)
    row = conn.execute(sa.select(messages).where(*where)).mappings().first()
    return _message(row) if row is not None else None


def recipients_of(conn: Connection, message_id: str,
                  status: RecipientStatus | None = None) -> list[Recipient]:
    where = [recipients.c.message_id == message_id]
    if status is not None:
        where.append(recipients.c.status == status.value)
    rows = conn.execute(sa.select(recipients).where(*where).order_by(recipients.c.id)
                        ).mappings()
    return [_recipient(row) for row in rows]


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


def events_of(conn: Connection, message_id: str) -> list[MessageEvent]:
    rows = conn.execute(sa.select(message_events)
                        .where(message_events.c.message_id == message_id)
                        .order_by(message_events.c.occurred_at, message_events.c.id)
                        ).mappings()
    return [_event(row) for row in rows]


def search(conn: Connection, server_id: int, *, count: int, offset: int,
           recipient: str | None = None, from_email: str | None = None, tag: str | None = None,
           status: str | None = None, subject: str | None = None, stream: str | None = None,
           from_date: datetime | None = None,
           to_date: datetime | None = None,
           metadata: dict[str, str] | None = None) -> Page[Message]:
    where: list[Any] = [messages.c.server_id == server_id]
    for key, value in (metadata or {}).items():
        where.append(messages.c.metadata[key].as_string() == value)
    if recipient:
        where.append(messages.c.id.in_(sa.select(recipients.c.message_id).where(
            recipients.c.server_id == server_id,
            recipients.c.email == addresses.normalize(recipient))))
    if from_email:
        where.append(messages.c.from_field.icontains(from_email, autoescape=True))
    if tag:
        where.append(messages.c.tag == tag)
    if subject:
        where.append(messages.c.subject.icontains(subject, autoescape=True))
    if stream:
        where.append(messages.c.stream == stream)
    if from_date:
        where.append(messages.c.received_at >= from_date)
    if to_date:
        where.append(messages.c.received_at <= to_date)
    if status:
        where.append(_has_status(server_id, outcomes.rule(outcomes.parse_filter(status))))
    total = conn.execute(sa.select(sa.func.count()).select_from(messages).where(*where)
                         ).scalar_one()
    rows = conn.execute(sa.select(messages).where(*where)
                        .order_by(messages.c.received_at.desc(), messages.c.id)
                        .limit(count).offset(offset)).mappings()
    return Page(int(total), [_message(row) for row in rows])


def _has_status(server_id: int, rule: outcomes.Rule) -> Any:
    """The SQL form of outcomes.message_status(...) == the filtered Status, from the
    rule outcomes.py derives, so the filter and the Status shown cannot disagree."""
    def some(states: frozenset[RecipientStatus]) -> Any:
        return sa.exists().where(recipients.c.message_id == messages.c.id,
                                 recipients.c.server_id == server_id,
                                 recipients.c.status.in_(sorted(s.value for s in states)))

    if not rule.any_of:
        return sa.false()
    condition = some(rule.any_of)
    if rule.none_of:
        condition = sa.and_(condition, ~some(rule.none_of))
    if rule.when_empty:
        condition = sa.or_(condition, ~some(frozenset(RecipientStatus)))
    return condition


def recipients_by_message(conn: Connection, message_ids: Sequence[str],
                          status: RecipientStatus | None = None) -> dict[str, list[Recipient]]:
    """The recipients of several messages in one query (a listing page, or a batch of
    pipeline steps, is not N+1)."""
    out: dict[str, list[Recipient]] = {mid: [] for mid in message_ids}
    if message_ids:
        where: list[Any] = [recipients.c.message_id.in_(list(message_ids))]
        if status is not None:
            where.append(recipients.c.status == status.value)
        rows = conn.execute(sa.select(recipients).where(*where)
                            .order_by(recipients.c.id)).mappings()
        for recipient in map(_recipient, rows):
            out[recipient.message_id].append(recipient)
    return out
