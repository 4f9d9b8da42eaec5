"""Recording a bounce: the one step every source of bounces shares (the SMTP API Error
screen, a 5xx from the receiving server, a DSN or ARF report that comes back later).

It writes the bounce, marks the recipient, adds the message event, suppresses the address
where Postmark does (hard bounces, spam complaints) and queues the webhooks, all in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from postlane.domain.bounce_types import BounceType
from postlane.domain.records import Bounce, Message, NewBounce, Server
from postlane.domain.types import EventType, RecipientStatus, SuppressionOrigin, SuppressionReason
from postlane.pipeline import notify, subscriptions
from postlane.store import Transaction, bounces, messages
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
    event_details: dict[str, Any] | None = None
    #: The recipient as the sender wrote it, for the message event (else ``email``).
    address: str | None = None
    #: What the recipient row becomes: Bounced, or Suppressed for an SMTP API Error raised
    #: at screening (never sent: its message's Status is Blocked, see domain/outcomes.py).
    settles_as: RecipientStatus = RecipientStatus.BOUNCED


@dataclass(frozen=True)
class BounceCase:
    """One bounce to record: the server, the message and what is known about the bounce."""

    server: Server
    message: Message
    facts: BounceFacts


def record(conn: Transaction, server: Server, message: Message, facts: BounceFacts) -> Bounce:
    return record_many(conn, [BounceCase(server, message, facts)])[0]


def record_many(conn: Transaction, cases: Sequence[BounceCase]) -> list[Bounce]:
    """Several bounces with one statement per table (a batch of screen steps raises many
    SMTP API Errors at once). Returns the stored bounces."""
    now = utcnow()
    stored = bounces.insert_many(conn, [_new_bounce(case, now) for case in cases])
    for settles_as in sorted({c.facts.settles_as for c in cases}):
        messages.set_recipient_status(
            conn, [c.facts.recipient_id for c in cases
                   if c.facts.recipient_id is not None and c.facts.settles_as is settles_as],
            settles_as)
    _suppress(conn, cases)
    messages.add_events(conn, [
        messages.event_row(case.message.id, case.facts.address or case.facts.email,
                           EventType.BOUNCED,
                           {"Summary": case.facts.details, "BounceID": str(bounce.id),
                            "Type": case.facts.kind.type, **(case.facts.event_details or {})},
                           now)
        for case, bounce in zip(cases, stored, strict=True)])
    notify.enqueue_many(conn, [notify.bounce_notice(case.server, bounce)
                               for case, bounce in zip(cases, stored, strict=True)])
    return stored


def _new_bounce(case: BounceCase, now: datetime) -> NewBounce:
    message, facts = case.message, case.facts
    return NewBounce(
        server_id=case.server.id, stream=message.stream, message_id=message.id,
        recipient_id=facts.recipient_id, bounce_type=facts.kind.type,
        type_code=facts.kind.code, name=facts.kind.name,
        description=facts.kind.description, details=facts.details, email=facts.email,
        from_field=message.from_field, subject=message.subject, tag=message.tag,
        metadata=message.metadata or {}, content=facts.content,
        dump_available=facts.content is not None, inactive=facts.inactive,
        can_activate=facts.can_activate, bounced_at=now,
    )


def _suppress(conn: Transaction, cases: Sequence[BounceCase]) -> None:
    """Where Postmark suppresses (hard bounce, spam complaint); an address already on the
    list keeps its original reason. The message is the SubscriptionChange's cause."""
    wanted: dict[tuple[int, str, SuppressionReason], dict[str, Message]] = {}
    for case in cases:
        if case.facts.suppress is not None:
            wanted.setdefault((case.server.id, case.message.stream, case.facts.suppress),
                              {}).setdefault(case.facts.email, case.message)
    for (server_id, stream, reason), causes in wanted.items():
        subscriptions.suppress(conn, server_id, stream, causes, reason,
                               SuppressionOrigin.RECIPIENT, causes)
