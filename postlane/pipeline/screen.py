"""The seed's step: after a message is accepted, check each recipient against its stream's
suppression list and decide: deliver, raise an SMTP API Error bounce, or drop silently.

Runs in one transaction with the job's completion, so a crash re-runs it whole, and only
recipients still Queued are looked at: re-running never duplicates a bounce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from postlane import screening
from postlane.domain import bounce_types, suppression
from postlane.domain.retry import DELIVERY_SCHEDULE, max_attempts
from postlane.domain.suppression import Outcome, Suppression
from postlane.domain.types import EventType, JobKind, RecipientStatus, Source
from postlane.pipeline import notify
from postlane.store import bounces, jobs, messages, servers
from postlane.store.schema import utcnow


def run(conn: Connection, job: jobs.Job, labels: bounce_types.SmtpApiErrorLabels) -> None:
    message = messages.get(conn, None, job.ref)
    server = servers.get(conn, message["server_id"]) if message else None
    if message is None or server is None:  # deleted with its server meanwhile
        jobs.complete(conn, job)
        return
    pending = messages.recipients_of(conn, message["id"], RecipientStatus.QUEUED)
    fates = screening.screen(conn, server["id"], message["stream"], Source(message["source"]),
                             server["enable_smtp_api_error_hooks"], [r["email"] for r in pending])
    deliverable = 0
    for recipient in pending:
        fate, found = fates[recipient["email"]]
        if fate is Outcome.DELIVER:
            deliverable += 1
        elif fate is Outcome.SMTP_API_ERROR and found is not None:
            _smtp_api_error(conn, server, message, recipient, found, labels)
        elif found is not None:
            _silently_suppressed(conn, message, recipient, found)
    # A re-run must not add a second deliver job: two could send the same message twice.
    if deliverable and not jobs.exists(conn, JobKind.DELIVER, message["id"]):
        jobs.enqueue(conn, JobKind.DELIVER, message["id"], max_attempts(DELIVERY_SCHEDULE))
    jobs.complete(conn, job)


def _smtp_api_error(conn: Connection, server: Mapping[Any, Any], message: Mapping[Any, Any],
                    recipient: Mapping[Any, Any], found: Suppression,
                    labels: bounce_types.SmtpApiErrorLabels) -> None:
    kind = bounce_types.smtp_api_error_type(labels)
    raw = message["raw"]
    values = {
        "server_id": server["id"], "stream": message["stream"], "message_id": message["id"],
        "recipient_id": recipient["id"], "bounce_type": kind.type, "type_code": kind.code,
        "name": kind.name, "description": kind.description,
        "details": suppression.smtp_api_error_details(found), "email": recipient["email"],
        "from_field": message["from_field"], "subject": message["subject"],
        "tag": message["tag"], "metadata": message["metadata"] or {},
        "content": raw.decode("utf-8", "replace") if raw else None,
        "dump_available": raw is not None, "inactive": True,
        "can_activate": suppression.customer_can_delete(found.reason), "bounced_at": utcnow(),
    }
    bounce_id = bounces.insert(conn, values)
    messages.set_recipient_status(conn, [recipient["id"]], RecipientStatus.BOUNCED)
    messages.add_event(conn, message["id"], recipient["address"], EventType.BOUNCED, {
        "Summary": values["details"], "BounceID": str(bounce_id),
        "SuppressionReason": found.reason.value,
    })
    notify.enqueue_bounce(conn, server, {**values, "id": bounce_id})


def _silently_suppressed(conn: Connection, message: Mapping[Any, Any],
                         recipient: Mapping[Any, Any], found: Suppression) -> None:
    messages.set_recipient_status(conn, [recipient["id"]], RecipientStatus.SUPPRESSED)
    messages.add_event(conn, message["id"], recipient["address"], EventType.SUPPRESSED, {
        "Summary": "Not delivered: the recipient is on the suppression list.",
        "SuppressionReason": found.reason.value,
    })
