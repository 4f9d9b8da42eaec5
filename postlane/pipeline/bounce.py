"""Recording a bounce: the one step every source of bounces shares (the SMTP API Error
screen, a 5xx from the receiving server, a DSN or ARF report that comes back later).

It writes the bounce, marks the recipient, adds the message event, suppresses the address
where Postmark does (hard bounces, spam complaints) and queues the webhooks, all in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from postlane.domain.bounce_types import BounceType
from postlane.domain.types import EventType, RecipientStatus, SuppressionOrigin, SuppressionReason
from postlane.pipeline import notify
from postlane.store import bounces, messages, suppressions
from postlane.store.schema import utcnow


@dataclass(frozen=True)
class BounceFacts:
    kind: BounceType
    email: str
    details: str
    inactive: bool
    can_activate: bool
    #: Set when the bounce suppresses the address on the message's stream.
    suppress: SuppressionReason | None = None
    content: str | None = None
    #: The recipient row the bounce settles (None for reports about already-sent mail).
    recipient_id: int | None = None
    event_details: Mapping[str, Any] | None = None
    #: The recipient as the sender wrote it, for the message event (else ``email``).
    address: str | None = None


#: One bounce to record: the server, the message and what is known about the bounce.
Case = tuple[Mapping[Any, Any], Mapping[Any, Any], BounceFacts]


def record(conn: Connection, server: Mapping[Any, Any], message: Mapping[Any, Any],
           facts: BounceFacts) -> dict[str, Any]:
    return record_many(conn, [(server, message, facts)])[0]


def record_many(conn: Connection, cases: Sequence[Case]) -> list[dict[str, Any]]:
    """Several bounces with one statement per table (a batch of screen steps raises many
    SMTP API Errors at once). Returns each bounce's values with its new id."""
    now = utcnow()
    rows = [_values(server, message, facts, now) for server, message, facts in cases]
    for row, bounce_id in zip(rows, bounces.insert_many(conn, rows), strict=True):
        row["id"] = bounce_id
    messages.set_recipient_status(
        conn, [facts.recipient_id for _, _, facts in cases if facts.recipient_id is not None],
        RecipientStatus.BOUNCED)
    _suppress(conn, cases)
    messages.add_events(conn, [
        messages.event_row(message["id"], facts.address or facts.email, EventType.BOUNCED,
                           {"Summary": facts.details, "BounceID": str(row["id"]),
                            "Type": facts.kind.type, **(facts.event_details or {})}, now)
        for (_, message, facts), row in zip(cases, rows, strict=True)])
    notify.enqueue_many(conn, [notify.bounce_notice(server, row)
                               for (server, _, _), row in zip(cases, rows, strict=True)])
    return rows


def _values(server: Mapping[Any, Any], message: Mapping[Any, Any], facts: BounceFacts,
            now: datetime) -> dict[str, Any]:
    return {
        "server_id": server["id"], "stream": message["stream"], "message_id": message["id"],
        "recipient_id": facts.recipient_id, "bounce_type": facts.kind.type,
        "type_code": facts.kind.code, "name": facts.kind.name,
        "description": facts.kind.description, "details": facts.details, "email": facts.email,
        "from_field": message["from_field"], "subject": message["subject"],
        "tag": message["tag"], "metadata": message["metadata"] or {},
        "content": facts.content, "dump_available": facts.content is not None,
        "inactive": facts.inactive, "can_activate": facts.can_activate, "bounced_at": now,
    }


def _suppress(conn: Connection, cases: Sequence[Case]) -> None:
    """Where Postmark suppresses (hard bounce, spam complaint); an address already on the
    list keeps its original reason."""
    wanted: dict[tuple[int, str, SuppressionReason], list[str]] = {}
    for server, message, facts in cases:
        if facts.suppress is not None:
            wanted.setdefault((server["id"], message["stream"], facts.suppress),
                              []).append(facts.email)
    for (server_id, stream, reason), emails in wanted.items():
        suppressions.add_many(conn, server_id, stream, emails, reason,
                              SuppressionOrigin.RECIPIENT)
