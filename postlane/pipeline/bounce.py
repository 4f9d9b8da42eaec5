"""Recording a bounce: the one step every source of bounces shares (the SMTP API Error
screen, a 5xx from the receiving server, a DSN or ARF report that comes back later).

It writes the bounce, marks the recipient, adds the message event, suppresses the address
where Postmark does (hard bounces, spam complaints) and queues the webhooks, all in the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


def record(conn: Connection, server: Mapping[Any, Any], message: Mapping[Any, Any],
           facts: BounceFacts) -> dict[str, Any]:
    values: dict[str, Any] = {
        "server_id": server["id"], "stream": message["stream"], "message_id": message["id"],
        "recipient_id": facts.recipient_id, "bounce_type": facts.kind.type,
        "type_code": facts.kind.code, "name": facts.kind.name,
        "description": facts.kind.description, "details": facts.details, "email": facts.email,
        "from_field": message["from_field"], "subject": message["subject"],
        "tag": message["tag"], "metadata": message["metadata"] or {},
        "content": facts.content, "dump_available": facts.content is not None,
        "inactive": facts.inactive, "can_activate": facts.can_activate, "bounced_at": utcnow(),
    }
    values["id"] = bounces.insert(conn, values)
    if facts.recipient_id is not None:
        messages.set_recipient_status(conn, [facts.recipient_id], RecipientStatus.BOUNCED)
    if facts.suppress is not None:
        suppressions.add(conn, server["id"], message["stream"], facts.email, facts.suppress,
                         SuppressionOrigin.RECIPIENT)
    event = {"Summary": facts.details, "BounceID": str(values["id"]), "Type": facts.kind.type}
    event.update(facts.event_details or {})
    messages.add_event(conn, message["id"], facts.email, EventType.BOUNCED, event)
    notify.enqueue_bounce(conn, server, values)
    return values
