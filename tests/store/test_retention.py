"""Retention on both backends: what is older than the period goes (messages with their
recipients and events, bounces, webhook logs, finished jobs, settled reports); what is
recent, still pending or a suppression stays. The worker runs it by itself."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from postlane.accept import Submission, accept
from postlane.config import Settings
from postlane.domain.types import (
    DeliveryType,
    EventType,
    JobKind,
    ReportState,
    Source,
    SuppressionOrigin,
    SuppressionReason,
)
from postlane.pipeline.runner import Worker
from postlane.store import jobs, messages, reports, retention, servers, suppressions, webhooks
from postlane.store.database import Database
from postlane.store.schema import (
    bounces,
    inbound_reports,
    message_events,
    recipients,
    utcnow,
    webhook_deliveries,
)
from postlane.store.schema import jobs as jobs_table
from postlane.store.schema import messages as messages_table

OLD = utcnow() - timedelta(days=50)
CUTOFF = utcnow() - timedelta(days=45)


def _message(conn: Any, server_id: int, to: str) -> str:
    message_id = accept(conn, Submission(
        server_id=server_id, delivery_type=DeliveryType.SANDBOX, stream="outbound",
        source=Source.SMTP, from_field="app@example.com", recipients=[to],
        raw=b"Subject: x\r\n\r\nhello\r\n")).message_id
    messages.add_event(conn, message_id, to, EventType.DELIVERED, {})
    return message_id


def _bounce(conn: Any, server_id: int, message_id: str, when: Any) -> None:
    conn.execute(bounces.insert().values(
        server_id=server_id, stream="outbound", message_id=message_id, bounce_type="HardBounce",
        type_code=1, name="Hard bounce", description="", details="", email="x@example.com",
        from_field="", subject="", tag="", metadata={}, dump_available=False, inactive=True,
        can_activate=True, bounced_at=when))


def _age(conn: Any, table: sa.Table, column: str, ids: list[Any]) -> None:
    conn.execute(table.update().where(table.c.id.in_(ids)).values({column: OLD}))


def _populate(db: Database) -> dict[str, Any]:
    with db.write() as conn:
        server_id = servers.create(conn, f"retention-{time.monotonic_ns()}")
        old_message, new_message = (_message(conn, server_id, "old@example.com"),
                                    _message(conn, server_id, "new@example.com"))
        _age(conn, messages_table, "received_at", [old_message])
        _bounce(conn, server_id, old_message, OLD)
        _bounce(conn, server_id, new_message, utcnow())
        old_delivery, _new_delivery = webhooks.add_deliveries(conn, [
            {"server_id": server_id, "webhook_id": None, "url": "http://127.0.0.1:9/",
             "record_type": "Bounce", "payload": {}, "http_auth": None, "http_headers": []}
            for _ in range(2)])
        _age(conn, webhook_deliveries, "created_at", [old_delivery])
        suppressions.add(conn, server_id, "outbound", "kept@example.com",
                         SuppressionReason.MANUAL, SuppressionOrigin.CUSTOMER)
        conn.execute(suppressions.suppressions.update().values(created_at=OLD))
        for state in ("done", "failed", "queued"):
            jobs.enqueue(conn, JobKind.NOTIFY, f"old-{state}", 3)
            conn.execute(jobs_table.update().where(jobs_table.c.ref == f"old-{state}").values(
                state=state, run_at=OLD, finished_at=None if state == "queued" else OLD))
        settled, waiting, nobodys = (reports.insert(conn, b"report", "", []) for _ in range(3))
        conn.execute(inbound_reports.update().where(inbound_reports.c.id == settled).values(
            state=ReportState.PROCESSED.value, server_id=server_id))
        conn.execute(inbound_reports.update().where(inbound_reports.c.id == nobodys).values(
            state=ReportState.UNMATCHED.value))
        _age(conn, inbound_reports, "received_at", [settled, waiting, nobodys])
    return {"server": server_id, "old": old_message, "new": new_message,
            "reports": (settled, waiting, nobodys)}


def _count(db: Database, table: sa.Table, *where: Any) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)
                                ).scalar_one())


def test_purge_deletes_only_what_is_old_and_settled(db: Database) -> None:
    made = _populate(db)
    purged = retention.purge(db, CUTOFF, chunk=1)  # one row per transaction: the loops run

    assert _count(db, messages_table, messages_table.c.id == made["old"]) == 0
    assert _count(db, recipients, recipients.c.message_id == made["old"]) == 0  # cascade
    assert _count(db, message_events, message_events.c.message_id == made["old"]) == 0
    assert _count(db, messages_table, messages_table.c.id == made["new"]) == 1
    assert _count(db, recipients, recipients.c.message_id == made["new"]) == 1
    assert _count(db, message_events, message_events.c.message_id == made["new"]) == 1
    assert _count(db, bounces, bounces.c.server_id == made["server"]) == 1
    assert _count(db, webhook_deliveries, webhook_deliveries.c.server_id == made["server"]) == 1
    assert _count(db, suppressions.suppressions) == 1  # suppressions are never purged
    with db.read() as conn:
        left = {r.ref: r.state for r in conn.execute(sa.select(jobs_table.c.ref,
                                                               jobs_table.c.state))}
        kept_reports = set(conn.execute(sa.select(inbound_reports.c.id)).scalars())
    assert left["old-queued"] == "queued" and "old-done" not in left and "old-failed" not in left
    assert left[made["new"]] == "queued"  # the new message's screen job
    settled, waiting, nobodys = made["reports"]
    assert waiting in kept_reports and settled not in kept_reports
    assert nobodys not in kept_reports
    assert purged.counts["messages"] == 1 and purged.counts["jobs"] >= 2
    assert retention.purge(db, CUTOFF).counts.get("messages", 0) == 0  # nothing left to do


def test_worker_purges_on_its_own(db: Database) -> None:
    made = _populate(db)
    settings = Settings(worker_poll_seconds=0.05, retention_days=45,
                        retention_interval_seconds=3600)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Worker(db, settings).run(stop))
        deadline = time.monotonic() + 20
        try:
            while await db.run(_count, db, messages_table, messages_table.c.id == made["old"]):
                assert time.monotonic() < deadline, "the worker did not purge"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    asyncio.run(main())
    assert _count(db, messages_table, messages_table.c.id == made["new"]) == 1


def _reports(db: Database, *specs: tuple[str, int, timedelta]) -> list[int]:
    """One report per (state, size in bytes, age) spec; returns their ids in order."""
    made = []
    with db.write() as conn:
        for state, size, age in specs:
            report_id = reports.insert(conn, b"r" * size, "", [])
            conn.execute(inbound_reports.update().where(inbound_reports.c.id == report_id)
                         .values(state=state, received_at=utcnow() - age))
            made.append(report_id)
    return made


def _report_ids(db: Database) -> set[int]:
    with db.read() as conn:
        return set(conn.execute(sa.select(inbound_reports.c.id)).scalars())


def test_unmatched_reports_have_an_age_limit_of_their_own(db: Database) -> None:
    """Kept a week (by default) even when nothing else is ever purged (cutoff None)."""
    day = timedelta(days=1)
    old_junk, old_failed, new_junk, old_applied, old_waiting = _reports(
        db, ("unmatched", 10, 8 * day), ("failed", 10, 8 * day), ("unmatched", 10, day),
        ("processed", 10, 8 * day), ("queued", 10, 8 * day))
    limits = retention.UnmatchedLimits(utcnow() - 7 * day, max_bytes=10**9)
    purged = retention.purge(db, None, chunk=1, unmatched=limits)
    assert _report_ids(db) == {new_junk, old_applied, old_waiting}
    assert {old_junk, old_failed}.isdisjoint(_report_ids(db))
    assert purged.counts == {"inbound_reports": 2}


def test_unmatched_reports_have_a_size_limit_the_oldest_going_first(db: Database) -> None:
    minute = timedelta(minutes=1)
    oldest, older, applied, newer, newest = _reports(
        db, ("unmatched", 300, 5 * minute), ("failed", 300, 4 * minute),
        ("processed", 5000, 3 * minute), ("unmatched", 300, 2 * minute),
        ("unmatched", 300, minute))
    limits = retention.UnmatchedLimits(utcnow() - timedelta(days=7), max_bytes=700)
    retention.purge(db, None, chunk=1, unmatched=limits)  # one row per round: the loop runs
    # 700 bytes hold the two newest unmatched; applied reports do not count.
    assert _report_ids(db) == {applied, newer, newest}
    assert {oldest, older}.isdisjoint(_report_ids(db))
    retention.purge(db, None, unmatched=retention.UnmatchedLimits(
        utcnow() - timedelta(days=7), max_bytes=0))
    assert _report_ids(db) == {applied}


def test_the_worker_applies_the_unmatched_limits_with_retention_off(db: Database) -> None:
    (junk,) = _reports(db, ("unmatched", 10, timedelta(days=30)))
    settings = Settings(worker_poll_seconds=0.05, retention_days=0,
                        mx_unmatched_retention_days=7)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(Worker(db, settings).run(stop))
        deadline = time.monotonic() + 20
        try:
            while junk in await db.run(_report_ids, db):
                assert time.monotonic() < deadline, "the worker did not purge"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    asyncio.run(main())
