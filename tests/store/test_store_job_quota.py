"""Claims under a quota, on both backends (issue 12, item 1): notify jobs beyond the kind's
free room or a server's share are left queued and due, with no attempt spent, while other
kinds' jobs behind them are claimed; the idle worker's next wake-up ignores what the quota
leaves alone."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from postlane.domain.types import JobKind
from postlane.store import jobs
from postlane.store.database import Database
from postlane.store.schema import jobs as jobs_table
from postlane.store.schema import utcnow

LONG = 3600.0


def _queue(db: Database, kind: JobKind, refs: list[str], server: int | None = None,
           delay: float = 0.0) -> None:
    with db.write() as conn:
        jobs.enqueue_many(conn, kind, refs, 5,
                          run_at=utcnow() + timedelta(seconds=delay) if delay else None,
                          server_ids=None if server is None else [server] * len(refs))


def _claim(db: Database, quota: jobs.Quota, limit: int = 100) -> list[jobs.Job]:
    with db.write() as conn:
        return jobs.claim(conn, "w1", limit, LONG, quota=quota)


def _attempts(db: Database) -> dict[str, int]:
    with db.read() as conn:
        rows = conn.execute(sa.select(jobs_table.c.ref, jobs_table.c.attempts)).all()
        return dict(rows)


def test_per_server_share_and_the_kinds_behind(db: Database) -> None:
    _queue(db, JobKind.NOTIFY, [f"a{i}" for i in range(10)], server=1)
    _queue(db, JobKind.NOTIFY, ["b0", "b1"], server=2)
    _queue(db, JobKind.SCREEN, ["m0"])
    claimed = _claim(db, jobs.Quota(JobKind.NOTIFY, free=50, per_server=3,
                                    running={1: 1}))
    assert [j.ref for j in claimed] == ["a0", "a1", "b0", "b1", "m0"]
    assert {j.ref: j.server_id for j in claimed} == {
        "a0": 1, "a1": 1, "b0": 2, "b1": 2, "m0": None}
    attempts = _attempts(db)
    assert all(attempts[f"a{i}"] == 0 for i in range(2, 10))  # left alone: nothing spent

    # Server 1 is now full: its due jobs are not even looked at.
    assert _claim(db, jobs.Quota(JobKind.NOTIFY, free=50, per_server=3,
                                 running={1: 3, 2: 2})) == []
    # Room again: the oldest of them comes first.
    later = _claim(db, jobs.Quota(JobKind.NOTIFY, free=50, per_server=3, running={1: 2}))
    assert [j.ref for j in later] == ["a2"]


def test_the_kinds_free_room(db: Database) -> None:
    _queue(db, JobKind.NOTIFY, [f"n{i}" for i in range(6)], server=1)
    _queue(db, JobKind.NOTIFY, ["legacy"])  # a job queued before servers were recorded
    _queue(db, JobKind.DELIVER, ["d0", "d1"])
    claimed = _claim(db, jobs.Quota(JobKind.NOTIFY, free=2, per_server=100))
    assert [j.ref for j in claimed] == ["n0", "n1", "d0", "d1"]
    full = jobs.Quota(JobKind.NOTIFY, free=0, per_server=100)
    assert _claim(db, full) == []
    # Without a server the per-server share does not apply, the kind's room does.
    assert [j.ref for j in _claim(db, jobs.Quota(JobKind.NOTIFY, free=10, per_server=1,
                                                 running={1: 1}))] == ["legacy"]


def test_next_run_at_ignores_what_the_quota_leaves(db: Database) -> None:
    _queue(db, JobKind.NOTIFY, ["due-now"], server=1)
    _queue(db, JobKind.SCREEN, ["later"], delay=60)
    with db.read() as conn:
        everything = jobs.next_run_at(conn)
        under_quota = jobs.next_run_at(conn, jobs.Quota(JobKind.NOTIFY, free=5, per_server=1,
                                                        running={1: 1}))
    assert everything is not None and everything <= utcnow()
    assert under_quota is not None and under_quota > utcnow() + timedelta(seconds=50)
