"""The durable job queue on both backends: claiming under a lease, lease takeover after a
crash, LeaseLost rolling back the loser's transaction, retries, failed jobs kept and
retryable, and concurrent claimers never sharing a job."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from postlane.domain.types import JobKind, JobState
from postlane.store import jobs
from postlane.store.database import Database
from postlane.store.schema import jobs as jobs_table
from postlane.store.schema import utcnow
from tests.support.harness import wait_until

LONG = 3600.0  # a lease that will not expire during a test
TINY = 0.01  # a crashed worker's lease: expires at once


def enqueue(db: Database, *refs: str, max_attempts: int = 5, delay: float = 0.0) -> None:
    with db.write() as conn:
        jobs.enqueue_many(conn, JobKind.SCREEN, list(refs), max_attempts,
                          run_at=utcnow() + timedelta(seconds=delay) if delay else None)


def claim(db: Database, owner: str, limit: int = 10, lease: float = LONG) -> list[jobs.Job]:
    with db.write() as conn:
        return jobs.claim(conn, owner, limit, lease)


def row(db: Database, job_id: int) -> RowMapping:
    with db.read() as conn:
        found = conn.execute(sa.select(jobs_table).where(jobs_table.c.id == job_id)
                             ).mappings().first()
    assert found is not None, f"job {job_id} vanished"
    return found


def all_rows(db: Database) -> list[RowMapping]:
    with db.read() as conn:
        return list(conn.execute(sa.select(jobs_table).order_by(jobs_table.c.id)).mappings())


def test_enqueue_claim_complete(db: Database) -> None:
    enqueue(db, "m1", "m2", "m3")
    first = claim(db, "w1", limit=2)
    assert [(j.ref, j.attempts, j.lease_owner, j.kind) for j in first] == [
        ("m1", 1, "w1", JobKind.SCREEN), ("m2", 1, "w1", JobKind.SCREEN)]
    second = claim(db, "w1", limit=2)
    assert [j.ref for j in second] == ["m3"]
    assert claim(db, "w1") == []  # everything is leased
    with db.write() as conn:
        for job in first + second:
            jobs.complete(conn, job)
    rows = all_rows(db)
    assert [r["state"] for r in rows] == [JobState.DONE.value] * 3
    assert all(r["finished_at"] is not None and r["leased_until"] is None for r in rows)
    assert claim(db, "w2") == []  # done jobs are never claimed again
    with db.read() as conn:
        assert jobs.counts(conn) == {"done": 3}


def test_claim_respects_run_at(db: Database) -> None:
    start = utcnow()
    enqueue(db, "later", delay=3600)
    enqueue(db, "now")
    before = utcnow()
    (job,) = claim(db, "w1", lease=600)
    assert job.ref == "now"
    # The next claimable moment is the lease's end, not the leased job's past run_at
    # (otherwise an idle worker would spin while another worker holds a lease).
    with db.read() as conn:
        due = jobs.next_run_at(conn)
    assert due is not None
    assert before + timedelta(seconds=600) <= due <= utcnow() + timedelta(seconds=600)
    with db.write() as conn:
        jobs.complete(conn, job)
    with db.read() as conn:
        due = jobs.next_run_at(conn)
    assert due is not None and due >= start + timedelta(seconds=3600)


def test_leased_job_returns_only_after_its_lease_expires(db: Database) -> None:
    enqueue(db, "held")
    enqueue(db, "crashed")
    (held,) = claim(db, "alive-worker", limit=1, lease=LONG)
    (crashed,) = claim(db, "crashed-worker", limit=1, lease=TINY)
    assert (held.ref, crashed.ref) == ("held", "crashed")
    # The crashed worker's job comes back; the live worker's lease is respected throughout.
    taken: list[jobs.Job] = wait_until(lambda: claim(db, "rescuer"), message="lease expiry")
    assert [(j.ref, j.attempts, j.lease_owner) for j in taken] == [("crashed", 2, "rescuer")]
    assert row(db, held.id)["lease_owner"] == "alive-worker"
    assert claim(db, "rescuer") == []


def take_over(db: Database) -> tuple[jobs.Job, jobs.Job]:
    """A worker claims with a tiny lease and stalls; another takes the job over."""
    enqueue(db, "msg")
    (stale,) = claim(db, "slow", limit=1, lease=TINY)
    (fresh,) = wait_until(lambda: claim(db, "fast"), message="takeover")
    assert fresh.id == stale.id
    return stale, fresh


def test_complete_after_takeover_raises_and_rolls_back(db: Database) -> None:
    stale, fresh = take_over(db)
    with pytest.raises(jobs.LeaseLost), db.write() as conn:
        jobs.enqueue(conn, JobKind.NOTIFY, "side-effect-of-the-stale-run", 3)
        jobs.complete(conn, stale)
    # The loser's whole transaction is gone: no side effects, job still the winner's.
    assert [r["ref"] for r in all_rows(db)] == ["msg"]
    current = row(db, fresh.id)
    assert (current["state"], current["lease_owner"]) == (JobState.QUEUED.value, "fast")
    # A stale fail() must not disturb the new owner either.
    with db.write() as conn:
        jobs.fail(conn, stale, "stale failure", retry_in=None)
    assert row(db, fresh.id)["state"] == JobState.QUEUED.value
    with db.write() as conn:
        jobs.complete(conn, fresh)
    assert row(db, fresh.id)["state"] == JobState.DONE.value


def test_complete_twice_raises(db: Database) -> None:
    enqueue(db, "once")
    (job,) = claim(db, "w1")
    with db.write() as conn:
        jobs.complete(conn, job)
    with pytest.raises(jobs.LeaseLost), db.write() as conn:
        jobs.complete(conn, job)


def test_fail_schedules_retry_then_keeps_failed_job(db: Database) -> None:
    enqueue(db, "flaky", max_attempts=3)
    (job,) = claim(db, "w1")
    with db.write() as conn:
        jobs.fail(conn, job, "boom 1", retry_in=3600)
    waiting = row(db, job.id)
    assert waiting["state"] == JobState.QUEUED.value and waiting["last_error"] == "boom 1"
    assert waiting["leased_until"] is None and waiting["run_at"] > utcnow()
    assert claim(db, "w1") == []  # not due yet

    with db.write() as conn:  # make it due now, then run out of attempts
        conn.execute(jobs_table.update().values(run_at=utcnow()))
    for attempt in (2, 3):
        (job,) = claim(db, "w1")
        assert job.attempts == attempt
        with db.write() as conn:
            jobs.fail(conn, job, f"boom {attempt}", retry_in=0)
    final = row(db, job.id)
    assert (final["state"], final["attempts"], final["last_error"]) == (
        JobState.FAILED.value, 3, "boom 3")
    assert final["finished_at"] is not None
    assert claim(db, "w1") == []
    with db.read() as conn:
        assert jobs.counts(conn) == {"failed": 1}


def test_fail_without_retry_fails_at_once(db: Database) -> None:
    enqueue(db, "fatal", max_attempts=10)
    (job,) = claim(db, "w1")
    with db.write() as conn:
        jobs.fail(conn, job, "x" * 5000, retry_in=None)
    kept = row(db, job.id)
    assert kept["state"] == JobState.FAILED.value and len(kept["last_error"]) == 4000


def test_retry_now_requeues_failed_job(db: Database) -> None:
    enqueue(db, "stuck", max_attempts=1)
    (job,) = claim(db, "w1")
    with db.write() as conn:
        jobs.fail(conn, job, "gave up", retry_in=60)  # attempts exhausted: failed anyway
    assert row(db, job.id)["state"] == JobState.FAILED.value
    with db.write() as conn:
        assert jobs.retry_now(conn, JobKind.SCREEN, "stuck", extra_attempts=2)
        assert not jobs.retry_now(conn, JobKind.SCREEN, "no-such-ref")
        assert not jobs.retry_now(conn, JobKind.DELIVER, "stuck")
    requeued = row(db, job.id)
    assert (requeued["state"], requeued["max_attempts"]) == (JobState.QUEUED.value, 3)
    assert requeued["finished_at"] is None
    (again,) = claim(db, "w2")
    assert (again.id, again.attempts, again.lease_owner) == (job.id, 2, "w2")
    with db.write() as conn:
        jobs.complete(conn, again)
        assert not jobs.retry_now(conn, JobKind.SCREEN, "stuck")  # done jobs stay done
    assert row(db, job.id)["state"] == JobState.DONE.value


def test_concurrent_claimers_never_share_a_job(db: Database) -> None:
    """Four threads claim at once, each in its own write transaction. On PostgreSQL all four
    transactions are held open together (FOR UPDATE SKIP LOCKED keeps them apart); SQLite
    serialises writers, so there each waits its turn."""
    claimers, per_claim = 4, 3
    enqueue(db, *[f"m{i}" for i in range(claimers * per_claim)])
    hold_open = not db.is_sqlite
    start = threading.Barrier(claimers, timeout=30)
    all_claimed = threading.Barrier(claimers, timeout=30)
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(owner: str) -> None:
        try:
            start.wait()
            with db.write() as conn:
                claimed = jobs.claim(conn, owner, per_claim, LONG)
                if hold_open:
                    all_claimed.wait()  # every transaction is open, holding its rows
                results[owner] = [j.id for j in claimed]
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [i for owned in results.values() for i in owned]
    assert len(ids) == len(set(ids)) == claimers * per_claim
    rows = all_rows(db)
    assert all(r["attempts"] == 1 for r in rows)  # each claimed exactly once
    owners = {r["id"]: r["lease_owner"] for r in rows}
    assert all(owners[i] == owner for owner, owned in results.items() for i in owned)
