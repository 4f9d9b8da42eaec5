"""Pipeline steps on both backends: screen (idempotent on re-run, silent suppression when
hooks are off), deliver (Sandbox stores; Live keeps an unreachable delivery queued for
retry), the Worker's claim loop running jobs exactly once, and the job registry: each
kind's max attempts and retry schedule come from it, crashes included."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane import pipeline
from postlane.accept import Submission, accept
from postlane.config import Settings
from postlane.domain import retry, verp
from postlane.domain.bounce_types import SmtpApiErrorLabels
from postlane.domain.types import (
    DeliveryType,
    JobKind,
    JobState,
    Source,
    SuppressionOrigin,
    SuppressionReason,
)
from postlane.outbound import transports
from postlane.pipeline import deliver, screen
from postlane.pipeline.runner import Worker
from postlane.store import jobs, messages, servers, suppressions, webhooks
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter
from postlane.store.schema import bounces as bounces_table
from postlane.store.schema import jobs as jobs_table
from postlane.store.schema import utcnow
from tests.support.harness import WebhookReceiver

#: A smarthost nobody listens on: Live delivery through it fails at once, temporarily.
CLOSED_RELAY = "smtp://127.0.0.1:1"
BOUNCE_TRIGGER = {"Bounce": {"Enabled": True, "IncludeContent": False}}


def make_server(db: Database, delivery: DeliveryType = DeliveryType.SANDBOX, hooks: bool = True,
                hook_url: str = "http://127.0.0.1:9/hook", bounce_hook_url: str = "") -> int:
    """A server with one Bounce webhook on `outbound` (plus an optional BounceHookUrl)."""
    with db.write() as conn:
        server_id = servers.create(conn, f"srv-{time.monotonic_ns()}", {
            "delivery_type": delivery.value, "enable_smtp_api_error_hooks": hooks,
            "bounce_hook_url": bounce_hook_url})
        webhooks.create(conn, server_id, {"url": hook_url, "stream": "outbound",
                                          "http_auth": None, "http_headers": [],
                                          "triggers": BOUNCE_TRIGGER})
    return server_id


def suppress(db: Database, server_id: int, email: str,
             reason: SuppressionReason = SuppressionReason.MANUAL) -> None:
    with db.write() as conn:
        suppressions.add(conn, server_id, "outbound", email, reason, SuppressionOrigin.CUSTOMER)


def submit(db: Database, server_id: int, recipients: list[str],
           delivery: DeliveryType = DeliveryType.SANDBOX) -> str:
    """Accept an SMTP message (message + recipients + screen job, one transaction)."""
    with db.write() as conn:
        return accept(conn, Submission(
            server_id=server_id, delivery_type=delivery, stream="outbound",
            source=Source.SMTP, from_field="sender@example.com", recipients=recipients,
            to_field=", ".join(recipients), subject="Pipeline test",
            raw=b"Subject: Pipeline test\r\n\r\nHello\r\n")).message_id


def claim_one(conn: Connection, kind: JobKind, ref: str) -> jobs.Job:
    (job,) = [j for j in jobs.claim(conn, "test-worker", 100, 3600)
              if j.kind is kind and j.ref == ref]
    return job


def run_screen(db: Database, message_id: str,
               labels: SmtpApiErrorLabels = SmtpApiErrorLabels.SEED) -> None:
    with db.write() as conn:
        screen.run(conn, claim_one(conn, JobKind.SCREEN, message_id), labels)


def job_rows(db: Database, kind: JobKind, ref: str | None = None) -> list[RowMapping]:
    where = [jobs_table.c.kind == kind.value]
    if ref is not None:
        where.append(jobs_table.c.ref == ref)
    with db.read() as conn:
        return list(conn.execute(sa.select(jobs_table).where(*where).order_by(jobs_table.c.id)
                                 ).mappings())


def bounce_rows(db: Database, server_id: int) -> list[RowMapping]:
    with db.read() as conn:
        return list(conn.execute(sa.select(bounces_table)
                                 .where(bounces_table.c.server_id == server_id)
                                 .order_by(bounces_table.c.id)).mappings())


def statuses(db: Database, message_id: str) -> dict[str, str]:
    with db.read() as conn:
        return {r.email: r.status for r in messages.recipients_of(conn, message_id)}


def events(db: Database, message_id: str) -> list[tuple[str, str]]:
    with db.read() as conn:
        return [(e.recipient, e.event_type) for e in messages.events_of(conn, message_id)]


@pytest.mark.parametrize("labels", list(SmtpApiErrorLabels))
def test_screen_rerun_never_duplicates(db: Database, labels: SmtpApiErrorLabels) -> None:
    server_id = make_server(db, bounce_hook_url="http://127.0.0.1:9/legacy")
    suppress(db, server_id, "blocked@example.com", SuppressionReason.SPAM_COMPLAINT)
    message_id = submit(db, server_id, ["Blocked@Example.com", "ok@example.com"])

    run_screen(db, message_id, labels)
    # As after a crash that lost the completion: a fresh screen job for the same message.
    with db.write() as conn:
        jobs.enqueue(conn, JobKind.SCREEN, message_id, 5)
    run_screen(db, message_id, labels)

    (bounce,) = bounce_rows(db, server_id)
    expected = ("InternalError", 4003) if labels is SmtpApiErrorLabels.SEED else (
        "SMTPApiError", 100007)
    assert (bounce["bounce_type"], bounce["type_code"]) == expected
    assert bounce["name"] == "SMTP API Error"
    assert bounce["description"] == "Recipient is on the suppression list"
    assert bounce["email"] == "blocked@example.com" and bounce["message_id"] == message_id
    assert "SpamComplaint" in bounce["details"]
    assert bounce["inactive"] is True and bounce["can_activate"] is False
    # One notify job per target (the webhook and the legacy BounceHookUrl), not per run.
    assert len(job_rows(db, JobKind.NOTIFY)) == 2
    assert len(job_rows(db, JobKind.DELIVER, message_id)) == 1
    assert [r["state"] for r in job_rows(db, JobKind.SCREEN)] == [JobState.DONE.value] * 2
    # Never sent: the recipient row says Suppressed, the event and the bounce tell why.
    assert statuses(db, message_id) == {"blocked@example.com": "Suppressed",
                                        "ok@example.com": "Queued"}
    assert events(db, message_id) == [("Blocked@Example.com", "Bounced")]


def test_suppressed_with_hooks_off_is_silent(db: Database) -> None:
    server_id = make_server(db, hooks=False, bounce_hook_url="http://127.0.0.1:9/legacy")
    suppress(db, server_id, "gone@example.com", SuppressionReason.HARD_BOUNCE)
    message_id = submit(db, server_id, ["gone@example.com"])
    run_screen(db, message_id)

    assert bounce_rows(db, server_id) == []
    assert job_rows(db, JobKind.NOTIFY) == []
    assert job_rows(db, JobKind.DELIVER) == []  # nobody left to deliver to
    assert statuses(db, message_id) == {"gone@example.com": "Suppressed"}
    with db.read() as conn:
        (event,) = messages.events_of(conn, message_id)
    assert event.event_type == "Suppressed"
    assert event.details["SuppressionReason"] == "HardBounce"


def test_suppression_is_per_stream_and_server(db: Database) -> None:
    server_id = make_server(db)
    other = make_server(db)
    with db.write() as conn:
        suppressions.add(conn, server_id, "broadcast", "x@example.com",
                         SuppressionReason.MANUAL, SuppressionOrigin.CUSTOMER)
    suppress(db, other, "x@example.com")
    message_id = submit(db, server_id, ["x@example.com"])
    run_screen(db, message_id)
    assert bounce_rows(db, server_id) == []
    assert statuses(db, message_id) == {"x@example.com": "Queued"}
    assert len(job_rows(db, JobKind.DELIVER, message_id)) == 1


def claim_deliver(db: Database, message_id: str) -> jobs.Job:
    with db.write() as conn:
        return claim_one(conn, JobKind.DELIVER, message_id)


def test_deliver_on_sandbox_marks_sent(db: Database) -> None:
    server_id = make_server(db)
    message_id = submit(db, server_id, ["a@example.com", "B@example.com"])
    run_screen(db, message_id)
    # Sandbox never touches the transport: an unreachable relay proves it.
    transport = transports.build(worker_settings(relay_url=CLOSED_RELAY))
    job = claim_deliver(db, message_id)
    tx = GroupCommitter(db)
    tx.start()
    try:
        asyncio.run(deliver.run(tx, job, transport, verp.Signer(b"k", "b.example"),
                                pipeline.BY_KIND[JobKind.DELIVER].retry_in(1.0)))
    finally:
        tx.stop()

    assert statuses(db, message_id) == {"a@example.com": "Sent", "b@example.com": "Sent"}
    assert sorted(events(db, message_id)) == [("B@example.com", "Delivered"),
                                              ("a@example.com", "Delivered")]
    assert [r["state"] for r in job_rows(db, JobKind.DELIVER)] == [JobState.DONE.value]


# --- the Worker's claim loop ------------------------------------------------------------

def worker_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"worker_poll_seconds": 0.05, "retry_scale": 0.01,
                              "worker_concurrency": 4, "webhook_timeout_seconds": 5.0}
    values.update(overrides)
    return Settings(**values)


def run_workers(db: Database, settings: Settings, done: Callable[[], bool],
                count: int = 2, timeout: float = 30.0) -> None:
    """Run ``count`` Workers on one event loop until ``done()`` holds, then stop them."""

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(Worker(db, settings).run(stop)) for _ in range(count)]
        deadline = time.monotonic() + timeout
        try:
            while not await db.run(done):
                assert time.monotonic() < deadline, "workers did not finish in time"
                assert not any(t.done() for t in tasks), "a worker stopped early"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)

    asyncio.run(main())


def all_jobs_done(db: Database) -> bool:
    with db.read() as conn:
        return set(jobs.counts(conn)) == {JobState.DONE.value}


def test_workers_run_each_job_exactly_once(db: Database, receiver: WebhookReceiver) -> None:
    server_id = make_server(db, hook_url=receiver.url)
    suppress(db, server_id, "blocked@example.com")
    ids = [submit(db, server_id, [f"ok{i}@example.com", "blocked@example.com"])
           for i in range(6)]

    run_workers(db, worker_settings(), lambda: all_jobs_done(db))

    for kind, expected in ((JobKind.SCREEN, 6), (JobKind.DELIVER, 6), (JobKind.NOTIFY, 6)):
        rows = job_rows(db, kind)
        assert len(rows) == expected, kind
        assert all(r["attempts"] == 1 for r in rows), kind  # claimed and run exactly once
    bounces = bounce_rows(db, server_id)
    assert sorted(b["message_id"] for b in bounces) == sorted(ids)
    assert sorted(body["ID"] for body in receiver.bodies()) == sorted(b["id"] for b in bounces)
    for i, message_id in enumerate(ids):
        assert statuses(db, message_id) == {f"ok{i}@example.com": "Sent",
                                            "blocked@example.com": "Suppressed"}
        assert sorted(events(db, message_id)) == [("blocked@example.com", "Bounced"),
                                                  (f"ok{i}@example.com", "Delivered")]


def test_worker_leaves_unreachable_live_delivery_queued_for_retry(db: Database) -> None:
    server_id = make_server(db, DeliveryType.LIVE)
    message_id = submit(db, server_id, ["a@example.com"], DeliveryType.LIVE)

    def deliver_failed_once() -> bool:
        return any(r["last_error"] for r in job_rows(db, JobKind.DELIVER, message_id))

    settings = worker_settings(retry_scale=1.0, relay_url=CLOSED_RELAY)
    run_workers(db, settings, deliver_failed_once, count=1)

    (job,) = job_rows(db, JobKind.DELIVER, message_id)
    assert job["state"] == JobState.QUEUED.value and job["attempts"] == 1
    assert "a@example.com" in job["last_error"]
    assert job["leased_until"] is None
    assert job["run_at"] > utcnow() + timedelta(seconds=30)  # first step: one minute
    assert statuses(db, message_id) == {"a@example.com": "Queued"}
    assert events(db, message_id) == [("a@example.com", "Transient")]
    assert bounce_rows(db, server_id) == []
    assert [r["state"] for r in job_rows(db, JobKind.SCREEN)] == [JobState.DONE.value]


# --- screening in batches (the worker's group transactions) -------------------------------

def claim_screens(db: Database, owner: str = "test-worker") -> list[jobs.Job]:
    with db.write() as conn:
        return [j for j in jobs.claim(conn, owner, 100, 3600) if j.kind is JobKind.SCREEN]


def test_screen_batch_decides_each_message_as_alone(db: Database) -> None:
    hooks_on = make_server(db, bounce_hook_url="http://127.0.0.1:9/legacy")
    hooks_off = make_server(db, hooks=False)
    for server_id in (hooks_on, hooks_off):
        suppress(db, server_id, "gone@example.com", SuppressionReason.HARD_BOUNCE)
    bounced = [submit(db, hooks_on, ["Gone@Example.com", f"ok{i}@example.com"])
               for i in range(3)]
    only_suppressed = submit(db, hooks_on, ["gone@example.com"])
    silent = submit(db, hooks_off, ["gone@example.com", "fine@example.com"])
    batch = claim_screens(db)
    with db.write() as conn:  # a duplicate job for one message must not bounce it twice
        jobs.enqueue(conn, JobKind.SCREEN, bounced[0], 5)
    batch += claim_screens(db)
    assert len(batch) == 6

    with db.write() as conn:
        assert screen.run_many(conn, batch, SmtpApiErrorLabels.SEED) == [None] * 6

    rows = bounce_rows(db, hooks_on)
    assert sorted(b["message_id"] for b in rows) == sorted([*bounced, only_suppressed])
    assert {(b["email"], b["bounce_type"], b["type_code"]) for b in rows} == {
        ("gone@example.com", "InternalError", 4003)}
    assert bounce_rows(db, hooks_off) == []
    for i, message_id in enumerate(bounced):
        assert statuses(db, message_id) == {"gone@example.com": "Suppressed",
                                            f"ok{i}@example.com": "Queued"}
        assert events(db, message_id) == [("Gone@Example.com", "Bounced")]
    assert statuses(db, silent) == {"gone@example.com": "Suppressed",
                                    "fine@example.com": "Queued"}
    assert events(db, silent) == [("gone@example.com", "Suppressed")]
    # Each bounce goes to the webhook and the legacy URL; only messages with someone
    # left to deliver to get a deliver job.
    assert len(job_rows(db, JobKind.NOTIFY)) == 2 * len(rows)
    assert sorted(r["ref"] for r in job_rows(db, JobKind.DELIVER)) == sorted([*bounced, silent])
    assert {r["state"] for r in job_rows(db, JobKind.SCREEN)} == {JobState.DONE.value}


def test_screen_batch_with_a_lost_lease_settles_the_others(db: Database) -> None:
    server_id = make_server(db)
    suppress(db, server_id, "gone@example.com")
    ids = [submit(db, server_id, ["gone@example.com"]) for _ in range(4)]
    batch = claim_screens(db)
    with db.write() as conn:  # another worker took the third job after our lease ran out
        conn.execute(jobs_table.update().where(jobs_table.c.id == batch[2].id)
                     .values(lease_owner="another-worker"))

    async def through_group_commit() -> list[Any]:
        tx = GroupCommitter(db)
        many = functools.partial(screen.run_many, labels=SmtpApiErrorLabels.SEED)
        futures = [tx.submit(functools.partial(screen.run, job=job,
                                               labels=SmtpApiErrorLabels.SEED),
                             many=many, payload=job) for job in batch]
        tasks = [asyncio.ensure_future(f) for f in futures]
        await asyncio.sleep(0)  # all four queued before the committer looks: one batch
        tx.start()
        try:
            return await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            tx.stop()

    results = asyncio.run(through_group_commit())
    assert [type(r) for r in results] == [type(None), type(None), jobs.LeaseLost, type(None)]
    assert sorted(b["message_id"] for b in bounce_rows(db, server_id)) == sorted(
        ids[:2] + ids[3:])
    assert statuses(db, ids[2]) == {"gone@example.com": "Queued"}  # left to its new owner


# --- retry schedules: each kind's own -------------------------------------------------------

def test_a_crashing_notify_step_is_retried_on_the_webhook_schedule(db: Database) -> None:
    """A step that raises (not a failed POST: a crash) is retried on its own kind's
    schedule: for notify, the webhook schedule's first step (one minute), not the
    internal one (one second)."""
    with db.write() as conn:  # names no delivery row a number could find: the step raises
        jobs.enqueue(conn, JobKind.NOTIFY, "not-a-delivery-id", 11)

    def failed_once() -> bool:
        return any(r["last_error"] for r in job_rows(db, JobKind.NOTIFY))

    run_workers(db, worker_settings(retry_scale=1.0), failed_once, count=1)

    (job,) = job_rows(db, JobKind.NOTIFY)
    assert job["state"] == JobState.QUEUED.value and job["attempts"] == 1
    assert job["last_error"].startswith("ValueError")
    assert job["run_at"] > utcnow() + timedelta(seconds=30)  # webhook schedule: one minute


def test_the_registry_declares_every_kind_once_in_flow_order() -> None:
    assert [stage.kind for stage in pipeline.STAGES] == [
        JobKind.SCREEN, JobKind.DELIVER, JobKind.NOTIFY, JobKind.DSN]
    assert set(pipeline.BY_KIND) == set(JobKind)
    schedules = {stage.kind: stage.schedule for stage in pipeline.STAGES}
    assert schedules == {JobKind.SCREEN: retry.INTERNAL_SCHEDULE,
                         JobKind.DELIVER: retry.DELIVERY_SCHEDULE,
                         JobKind.NOTIFY: retry.WEBHOOK_SCHEDULE,
                         JobKind.DSN: retry.INTERNAL_SCHEDULE}
    # A step only feeds kinds that come later in the flow (dsn joins it at notify).
    order = [stage.kind for stage in pipeline.STAGES]
    for stage in pipeline.STAGES:
        assert all(order.index(fed) > order.index(stage.kind) or fed is JobKind.NOTIFY
                   for fed in stage.feeds), stage.kind


def test_jobs_are_queued_with_their_kinds_max_attempts(db: Database,
                                                       receiver: WebhookReceiver) -> None:
    """From the accept through screening, delivery and the webhook, each job gets its own
    kind's max attempts: no caller names them."""
    server_id = make_server(db, hook_url=receiver.url)
    suppress(db, server_id, "blocked@example.com")
    message_id = submit(db, server_id, ["ok@example.com", "blocked@example.com"])
    with db.write() as conn:
        pipeline.enqueue(conn, JobKind.DSN, "12345")  # a report that names nothing

    def settled() -> bool:
        with db.read() as conn:
            return set(jobs.counts(conn)) <= {JobState.DONE.value, JobState.FAILED.value} and \
                len(job_rows(db, JobKind.NOTIFY)) == 1

    run_workers(db, worker_settings(), settled, count=1)

    expected = {JobKind.SCREEN: 6, JobKind.DELIVER: 9, JobKind.NOTIFY: 11, JobKind.DSN: 6}
    for kind, attempts in expected.items():
        (row,) = job_rows(db, kind)
        assert row["max_attempts"] == attempts == retry.max_attempts(
            pipeline.BY_KIND[kind].schedule), kind
    assert job_rows(db, JobKind.SCREEN)[0]["ref"] == message_id


def test_a_step_that_outlasts_its_lease_keeps_it_and_runs_once(
        db: Database, receiver: WebhookReceiver) -> None:
    """A step may take longer than the lease (a large message to many recipients over a
    slow link, a slow receiver): while it runs, its worker renews the lease, so another
    worker does not claim the job again and send a second copy."""
    receiver.delay = 3.0  # the lease is 1 s: without renewals, taken again twice over
    server_id = make_server(db, hook_url=receiver.url)
    suppress(db, server_id, "blocked@example.com")
    submit(db, server_id, ["blocked@example.com"])
    run_workers(db, worker_settings(worker_lease_seconds=1.0), lambda: all_jobs_done(db))
    assert len(receiver.requests) == 1
    (row,) = job_rows(db, JobKind.NOTIFY)
    assert row["attempts"] == 1
