"""Reading outbound messages as the Messages API shows them (API and dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from postlane.domain import payloads
from postlane.domain.errors import Entity, NotFound
from postlane.domain.records import Recipient
from postlane.domain.types import RecipientStatus
from postlane.store import Transaction, messages


@dataclass(frozen=True)
class Listing:
    """A page of the message search: the Messages API's answer, and what became of each
    recipient of each message on it (the dashboard shows that; Postmark's listing has no
    per-recipient field, so the API answer leaves it out)."""

    answer: dict[str, Any]
    outcomes: dict[str, list[tuple[str, RecipientStatus]]]


def search(conn: Transaction, server_id: int, count: int, offset: int,
           filters: dict[str, Any]) -> dict[str, Any]:
    return listing(conn, server_id, count, offset, filters).answer


def listing(conn: Transaction, server_id: int, count: int, offset: int,
            filters: dict[str, Any]) -> Listing:
    page = messages.search(conn, server_id, count=count, offset=offset, **filters)
    recipients = messages.recipients_by_message(conn, [m.id for m in page.items])
    answer = {"TotalCount": page.total, "Messages": [
        payloads.message_summary(m, [r.status for r in recipients[m.id]],
                                 [r.address for r in recipients[m.id]]) for m in page.items]}
    return Listing(answer, {mid: _outcomes(rows) for mid, rows in recipients.items()})


def _outcomes(rows: list[Recipient]) -> list[tuple[str, RecipientStatus]]:
    return [(r.address, r.status) for r in rows]


def details(conn: Transaction, server_id: int, message_id: str, *,
            history: bool = False) -> dict[str, Any]:
    """A message's details: its events as the Messages API shows them, or with
    ``history`` (the dashboard) every event Postlane keeps."""
    row = messages.get(conn, server_id, message_id)
    if row is None:
        raise NotFound(Entity.MESSAGE, message_id)
    recipients = messages.recipients_of(conn, row.id)
    events = messages.events_of(conn, row.id)
    return payloads.message_details(row, [r.status for r in recipients],
                                    [r.address for r in recipients], events,
                                    history=history)
