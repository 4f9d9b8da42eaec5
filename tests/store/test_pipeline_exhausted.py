"""A job that runs out of attempts leaves its mark (pipeline.fail and each kind's
``exhausted`` hook), on both backends: screen and deliver settle the message's Queued
recipients as Failed with a Failed event each; notify marks its log entry failed and
puts a WebhookFailed event on the message its record is about; dsn keeps its report as
failed. An attempt that is not the last leaves nothing, and a hook that fails too never
keeps the job from being given up."""

from __future__ import annotations

from typing import Any

from postlane import pipeline
from postlane.domain.types import DeliveryType, JobKind, JobState, ReportState
from postlane.store import jobs, messages, webhooks
from postlane.store import reports as stored_reports
from postlane.store.database import Database
from postlane.store.schema import jobs as jobs_table
from tests.store.test_pipeline import (
    claim_one,
    job_rows,
    make_server,
    run_workers,
    statuses,
    submit,
    worker_settings,
)


def give_up(db: Database, kind: JobKind, ref: str, error: str = "KeyError: boom",
            retry_in: float | None = None) -> None:
    """Claim the job and record a failed attempt, the last one when ``retry_in`` is None."""
    with db.write() as conn:
        pipeline.fail(conn, claim_one(conn, kind, ref), error, retry_in)


def event_list(db: Database, message_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    with db.read() as conn:
        return [(e.recipient, e.event_type.value, e.details or {})
                for e in messages.events_of(conn, message_id)]


def test_screen_and_deliver_leave_failed_recipients_with_an_event(db: Database) -> None:
    server_id = make_server(db, DeliveryType.LIVE)
    screened = submit(db, server_id, ["a@example.com", "b@example.com"], DeliveryType.LIVE)
    give_up(db, JobKind.SCREEN, screened)
    assert statuses(db, screened) == {"a@example.com": "Failed", "b@example.com": "Failed"}
    shown = event_list(db, screened)
    assert [(r, t) for r, t, _ in shown] == [("a@example.com", "Failed"),
                                             ("b@example.com", "Failed")]
    details = shown[0][2]
    assert (details["Step"], details["Attempts"]) == ("screen", 1)
    assert "gave up" in details["Summary"] and "KeyError: boom" in details["Summary"]
    assert [r["state"] for r in job_rows(db, JobKind.SCREEN, screened)] == [
        JobState.FAILED.value]

    delivered = submit(db, server_id, ["c@example.com"], DeliveryType.LIVE)
    with db.write() as conn:
        pipeline.enqueue(conn, JobKind.DELIVER, delivered)
    give_up(db, JobKind.DELIVER, delivered, "OSError: disk full")
    assert statuses(db, delivered) == {"c@example.com": "Failed"}
    ((recipient, kind, details),) = event_list(db, delivered)
    assert (recipient, kind, details["Step"]) == ("c@example.com", "Failed", "deliver")


def test_an_attempt_that_is_not_the_last_leaves_nothing(db: Database) -> None:
    server_id = make_server(db, DeliveryType.LIVE)
    message_id = submit(db, server_id, ["a@example.com"], DeliveryType.LIVE)
    give_up(db, JobKind.SCREEN, message_id, retry_in=60.0)
    assert statuses(db, message_id) == {"a@example.com": "Queued"}
    assert event_list(db, message_id) == []
    assert [r["state"] for r in job_rows(db, JobKind.SCREEN, message_id)] == [
        JobState.QUEUED.value]


def test_notify_marks_its_log_entry_and_the_message(db: Database) -> None:
    server_id = make_server(db)
    message_id = submit(db, server_id, ["a@example.com"])
    with db.write() as conn:
        (delivery_id,) = webhooks.add_deliveries(conn, [{
            "server_id": server_id, "webhook_id": 7, "url": "https://hooks.example/x",
            "record_type": "Delivery", "http_auth": None, "http_headers": [],
            "payload": {"RecordType": "Delivery", "MessageID": message_id,
                        "Recipient": "a@example.com"}}])
        jobs.enqueue(conn, JobKind.NOTIFY, str(delivery_id), 11)
    give_up(db, JobKind.NOTIFY, str(delivery_id), "HTTP 500")
    with db.read() as conn:
        delivery = webhooks.get_delivery(conn, delivery_id)
    assert delivery is not None and delivery.state.value == "failed"
    ((recipient, _, details),) = [e for e in event_list(db, message_id)
                                     if e[1] == "WebhookFailed"]
    assert (recipient, details["RecordType"], details["WebhookDeliveryID"]) == (
        "a@example.com", "Delivery", delivery_id)
    assert "webhook 7" in details["Summary"] and "HTTP 500" in details["Summary"]
    assert "hooks.example" not in details["Summary"]  # a URL may carry credentials


def test_dsn_keeps_its_report_as_failed(db: Database) -> None:
    with db.write() as conn:
        report_id = stored_reports.insert(conn, b"Subject: x\r\n\r\n", "mailer@example.net",
                                          ["pm_bounces+x@bounces.example"])
        jobs.enqueue(conn, JobKind.DSN, str(report_id), 6)
    give_up(db, JobKind.DSN, str(report_id), "ValueError: odd")
    with db.read() as conn:
        report = stored_reports.get(conn, report_id)
    assert report is not None and report.state is ReportState.FAILED
    assert "gave up" in report.note and "ValueError: odd" in report.note


def test_a_failing_hook_never_keeps_the_job_from_being_given_up(db: Database) -> None:
    """The worker's own path: a step that raises on its only attempt, whose hook raises
    too (the ref names no delivery a number could find)."""
    with db.write() as conn:
        jobs.enqueue(conn, JobKind.NOTIFY, "not-a-delivery-id", 1)

    def given_up() -> bool:
        return [r["state"] for r in job_rows(db, JobKind.NOTIFY)] == [JobState.FAILED.value]

    run_workers(db, worker_settings(), given_up, count=1)
    (row,) = job_rows(db, JobKind.NOTIFY)
    assert row["attempts"] == 1 and row["last_error"].startswith("ValueError")


def test_a_job_whose_worker_kept_dying_is_given_up_with_an_event(db: Database) -> None:
    """A worker that crashes (or is killed) mid-step records nothing: the job comes back
    when its lease ends, every claim spending an attempt. Once they are spent, the next
    claim gives it up, with its event, instead of running it again for ever."""
    server_id = make_server(db, DeliveryType.LIVE)
    message_id = submit(db, server_id, ["a@example.com"], DeliveryType.LIVE)
    (row,) = job_rows(db, JobKind.SCREEN, message_id)
    for _ in range(row["max_attempts"]):  # each claim's worker dies: the lease runs out
        with db.write() as conn:
            claim_one(conn, JobKind.SCREEN, message_id)
            conn.execute(jobs_table.update().where(jobs_table.c.id == row["id"])
                         .values(leased_until=None))
    run_workers(db, worker_settings(), count=1, done=lambda: [
        r["state"] for r in job_rows(db, JobKind.SCREEN, message_id)] == [
            JobState.FAILED.value])
    assert statuses(db, message_id) == {"a@example.com": "Failed"}
    ((recipient, kind, details),) = event_list(db, message_id)
    assert (recipient, kind, details["Step"]) == ("a@example.com", "Failed", "screen")
    assert "stopped without recording" in details["Summary"]
