"""What a job leaves behind when it runs out of attempts (each kind's ``exhausted`` hook in
the registry), so no message waits for ever in silence:

- screen and deliver: the message's recipients still Queued become Failed, each with a
  ``Failed`` event that says which step gave up, after how many attempts, and why;
- notify: the delivery log shows the POST failed, and the message the record is about
  (a Delivery, a Bounce, ...) gets a ``WebhookFailed`` event;
- dsn: the report is kept as failed, with the reason. Its message gets nothing: a report
  that could not be read is not yet bound to any message, and anyone can send one.

Each runs in the transaction that marks the job failed (see ``pipeline.fail``).
"""

from __future__ import annotations

from postlane.domain.jobs import Job
from postlane.domain.types import DeliveryState, EventType, RecipientStatus, ReportState
from postlane.store import Transaction, messages, webhooks
from postlane.store import reports as stored_reports


def _summary(job: Job, what: str, error: str) -> str:
    attempts = f"{job.attempts} attempt{'s' if job.attempts != 1 else ''}"
    return (f"Postlane gave up on {what} after {attempts} of its {job.kind.value} step. "
            f"Last error: {error}")


def message_step(conn: Transaction, job: Job, error: str) -> None:
    """For the steps whose job names a message (screen, deliver)."""
    message = messages.get(conn, None, job.ref)
    if message is None:
        return
    pending = messages.recipients_of(conn, message.id, RecipientStatus.QUEUED)
    messages.set_recipient_status(conn, [r.id for r in pending], RecipientStatus.FAILED)
    details = {"Summary": _summary(job, "this message", error), "Step": job.kind.value,
               "Attempts": job.attempts}
    messages.add_events(conn, [
        messages.event_row(message.id, r.address, EventType.FAILED, details)
        for r in pending] or [messages.event_row(message.id, "", EventType.FAILED, details)])


def notify(conn: Transaction, job: Job, error: str) -> None:
    """For a webhook POST: its log entry, and the message its record is about, if any."""
    delivery = webhooks.get_delivery(conn, int(job.ref))
    if delivery is None or delivery.state is DeliveryState.CANCELLED:
        return  # cancelled (its webhook changed or went): nothing failed
    if delivery.state not in (DeliveryState.FAILED, DeliveryState.DELIVERED):
        webhooks.record_attempt(conn, delivery.id, delivered=False, final=True, status=None,
                                error=error)
    payload = delivery.payload or {}
    message_id = payload.get("MessageID")
    message = (messages.get(conn, delivery.server_id, message_id)
               if isinstance(message_id, str) else None)
    if message is None:
        return
    hook = (f"webhook {delivery.webhook_id}" if delivery.webhook_id is not None
            else "the server's hook URL")
    recipient = payload.get("Recipient") or payload.get("Email") or ""
    messages.add_event(conn, message.id, str(recipient), EventType.WEBHOOK_FAILED, {
        "Summary": _summary(job, f"the {delivery.record_type} notification to {hook}",
                            error),
        "RecordType": delivery.record_type, "WebhookDeliveryID": delivery.id,
        "Attempts": job.attempts,
    })


def dsn(conn: Transaction, job: Job, error: str) -> None:
    """For a received report: kept as failed, with the reason, unless it got further."""
    report = stored_reports.get(conn, int(job.ref))
    if report is not None and report.state is ReportState.QUEUED:
        stored_reports.finish(conn, report.id, ReportState.FAILED,
                              _summary(job, "this report", error))
