"""The durable job queue: rows in the same database, written in the same transaction as
the data they concern, claimed with a lease so a crashed worker's jobs come back.

Jobs are never deleted by failure: when the retry schedule runs out they are kept with
state "failed", visible and retryable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# The record lives in the domain; re-exported for callers that still say ``jobs.Job``.
from postlane.domain.jobs import Job as Job
from postlane.domain.types import JobKind, JobState
from postlane.store.schema import jobs, utcnow

#: Refs per statement where a list of them can be long (SQLite binds at most 32766).
_CHUNK = 1000


class LeaseLost(Exception):
    """Our lease expired and another worker took the job: our result must not count."""


def enqueue(conn: Connection, kind: JobKind, ref: str, max_attempts: int,
            run_at: datetime | None = None) -> None:
    enqueue_many(conn, kind, [ref], max_attempts, run_at)


def enqueue_many(conn: Connection, kind: JobKind, refs: Sequence[str], max_attempts: int,
                 run_at: datetime | None = None,
                 server_ids: Sequence[int] | None = None) -> None:
    """``server_ids`` (one per ref) where claims limit the kind per server (notify)."""
    if not refs:
        return
    now = utcnow()
    servers: Sequence[int | None] = server_ids if server_ids is not None else [None] * len(refs)
    conn.execute(jobs.insert(), [
        {"kind": kind.value, "ref": ref, "state": JobState.QUEUED.value, "attempts": 0,
         "max_attempts": max_attempts, "run_at": run_at or now, "created_at": now,
         "server_id": server_id}
        for ref, server_id in zip(refs, servers, strict=True)
    ])


@dataclass(frozen=True)
class Quota:
    """How many more jobs of ``kind`` a claim may take: ``free`` in all, and per server
    ``per_server`` less what that server's jobs of the kind already hold (``running``).
    Jobs beyond it are not claimed at all (no attempt spent): they wait, due, until a
    worker has room for them."""

    kind: JobKind
    free: int
    per_server: int
    running: Mapping[int, int] = field(default_factory=dict)

    def admits(self) -> tuple[str, dict[str, Any]]:
        """The due jobs a claim under this quota may consider: which of the clauses in
        ``_ADMITS`` (built once), and its parameters."""
        if self.free <= 0:
            return "not_kind", {"kind": self.kind.value}
        full = [server for server, n in self.running.items() if n >= self.per_server]
        if not full:
            return "any", {}
        return "not_servers", {"kind": self.kind.value, "full": full}

    def take(self, rows: Sequence[Any]) -> list[Any]:
        """Those of ``rows`` (in claim order) that fit, counting the ones taken before."""
        taken, running, fits = 0, dict(self.running), []
        for row in rows:
            if row.kind == self.kind.value:
                server = row.server_id
                if taken >= self.free or (server is not None
                                          and running.get(server, 0) >= self.per_server):
                    continue
                taken += 1
                if server is not None:
                    running[server] = running.get(server, 0) + 1
            fits.append(row)
        return fits


#: What a quota lets a claim consider (Quota.admits names one), as clauses built once:
#: building a statement costs more than running it (SQLite), and a worker under a quota
#: claims a few jobs at a time, often.
_ADMITS: dict[str, sa.ColumnElement[bool]] = {
    "any": sa.true(),
    "not_kind": jobs.c.kind != sa.bindparam("kind"),
    "not_servers": sa.or_(jobs.c.kind != sa.bindparam("kind"), jobs.c.server_id.is_(None),
                          jobs.c.server_id.not_in(sa.bindparam("full", expanding=True))),
}
#: Compared with the columns, it takes their type.
_NOW: sa.BindParameter[datetime] = sa.bindparam("now")


def _due(admits: sa.ColumnElement[bool]) -> sa.Select[Any]:
    return (
        sa.select(jobs.c.id, jobs.c.kind, jobs.c.server_id)
        .where(jobs.c.state == JobState.QUEUED.value, jobs.c.run_at <= _NOW,
               sa.or_(jobs.c.leased_until.is_(None), jobs.c.leased_until < _NOW), admits)
        .order_by(jobs.c.run_at, jobs.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )


_DUE = {name: _due(admits) for name, admits in _ADMITS.items()}
_LEASE = (
    jobs.update()
    .where(jobs.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(lease_owner=sa.bindparam("owner_", type_=jobs.c.lease_owner.type),
            leased_until=sa.bindparam("until_", type_=jobs.c.leased_until.type),
            attempts=jobs.c.attempts + 1)
    .returning(jobs.c.id, jobs.c.kind, jobs.c.ref, jobs.c.attempts, jobs.c.max_attempts,
               jobs.c.server_id)
)


def claim(conn: Connection, owner: str, limit: int, lease_seconds: float,
          quota: Quota | None = None) -> list[Job]:
    """Lease up to ``limit`` due jobs, within ``quota``. PostgreSQL skips rows other
    workers hold; SQLite serialises writers, so the same query is safe there too."""
    now = utcnow()
    admits, params = quota.admits() if quota is not None else ("any", {})
    found = conn.execute(_DUE[admits], {"now": now, "limit": limit, **params}).all()
    ids = [row.id for row in (quota.take(found) if quota is not None else found)]
    if not ids:
        return []
    rows = conn.execute(_LEASE, {"ids": ids, "owner_": owner,
                                 "until_": now + timedelta(seconds=lease_seconds)}).all()
    return [Job(r.id, JobKind(r.kind), r.ref, r.attempts, r.max_attempts, owner, r.server_id)
            for r in sorted(rows, key=lambda r: r.id)]


def complete(conn: Connection, job: Job) -> None:
    """Mark done in the caller's transaction; raises LeaseLost so that transaction rolls
    back when another worker has taken the job meanwhile."""
    complete_many(conn, [job])


def complete_many(conn: Connection, done: Sequence[Job]) -> None:
    """:func:`complete` for several jobs, one statement per lease owner; LeaseLost when
    any of them is no longer ours (the caller then settles them one by one)."""
    by_owner: dict[str, list[int]] = {}
    for job in done:
        by_owner.setdefault(job.lease_owner, []).append(job.id)
    now = utcnow()
    for owner, ids in by_owner.items():
        result = conn.execute(
            jobs.update()
            .where(jobs.c.id.in_(ids), jobs.c.lease_owner == owner,
                   jobs.c.state == JobState.QUEUED.value)
            .values(state=JobState.DONE.value, finished_at=now, leased_until=None)
        )
        if result.rowcount != len(set(ids)):
            raise LeaseLost(f"job(s) {', '.join(map(str, ids))} no longer all ours")


def fail(conn: Connection, job: Job, error: str, retry_in: float | None) -> bool:
    """Schedule the next attempt, or keep the job as failed when retries ran out. True
    when this call was the one that gave the job up (its kind's hook then runs)."""
    values: dict[str, object] = {"last_error": error[:4000], "leased_until": None}
    final = retry_in is None or job.attempts >= job.max_attempts
    if retry_in is None or final:
        values.update(state=JobState.FAILED.value, finished_at=utcnow())
    else:
        values["run_at"] = utcnow() + timedelta(seconds=retry_in)
    result = conn.execute(jobs.update().where(
        jobs.c.id == job.id, jobs.c.lease_owner == job.lease_owner,
        jobs.c.state == JobState.QUEUED.value).values(**values))
    return final and result.rowcount > 0


def finish(conn: Connection, kind: JobKind, refs: Sequence[str], note: str) -> None:
    """End the queued jobs of ``kind`` for ``refs`` without running them (what they were
    for is gone); ``note`` says why. One running now loses its lease: its result does
    not count."""
    now = utcnow()
    for start in range(0, len(refs), _CHUNK):
        conn.execute(jobs.update()
                     .where(jobs.c.kind == kind.value,
                            jobs.c.ref.in_(list(refs[start:start + _CHUNK])),
                            jobs.c.state == JobState.QUEUED.value)
                     .values(state=JobState.DONE.value, finished_at=now, leased_until=None,
                             last_error=note[:4000]))


def renew(conn: Connection, owner: str, ids: Sequence[int], lease_seconds: float) -> None:
    """Extend the leases ``owner`` holds on the running jobs ``ids``: a step that takes
    longer than one lease keeps its job (another claim would run it a second time)."""
    until = utcnow() + timedelta(seconds=lease_seconds)
    for start in range(0, len(ids), _CHUNK):
        conn.execute(jobs.update()
                     .where(jobs.c.id.in_(list(ids[start:start + _CHUNK])),
                            jobs.c.lease_owner == owner,
                            jobs.c.state == JobState.QUEUED.value)
                     .values(leased_until=until))


def finish_for_server(conn: Connection, server_id: int, note: str) -> None:
    """End the queued jobs that work for ``server_id`` (those that record it: notify),
    in the transaction that deletes the server: their rows go with the cascade, and on
    SQLite a later row may reuse a deleted id, which a stale job would then act on."""
    conn.execute(jobs.update()
                 .where(jobs.c.server_id == server_id, jobs.c.state == JobState.QUEUED.value)
                 .values(state=JobState.DONE.value, finished_at=utcnow(), leased_until=None,
                         last_error=note[:4000]))


def retry_now(conn: Connection, kind: JobKind, ref: str, extra_attempts: int = 1, *,
              done_too: bool = False) -> bool:
    """Put a failed (or waiting) job back at the head of the queue: the retry button.
    ``done_too`` for a job that ended without running to its end (:func:`finish`)."""
    states = [JobState.FAILED.value, JobState.QUEUED.value]
    if done_too:
        states.append(JobState.DONE.value)
    result = conn.execute(
        jobs.update()
        .where(jobs.c.kind == kind.value, jobs.c.ref == ref, jobs.c.state.in_(states))
        .values(state=JobState.QUEUED.value, run_at=utcnow(), finished_at=None,
                max_attempts=jobs.c.attempts + extra_attempts)
    )
    return result.rowcount > 0


def refs_with(conn: Connection, kind: JobKind, refs: Sequence[str]) -> set[str]:
    """Those of ``refs`` that ever had a job of this kind enqueued (in any state)."""
    if not refs:
        return set()
    return set(conn.execute(sa.select(jobs.c.ref).where(
        jobs.c.kind == kind.value, jobs.c.ref.in_(list(refs)))).scalars())


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)).all()
    return {str(state): int(n) for state, n in rows}


def next_run_at(conn: Connection, quota: Quota | None = None) -> datetime | None:
    """When the earliest queued job becomes claimable (due, not leased, and within
    ``quota``): lets an idle worker sleep precisely instead of spinning while another
    worker holds a lease, or while due jobs wait for room under the quota."""
    claimable_at = sa.case((jobs.c.leased_until > jobs.c.run_at, jobs.c.leased_until),
                           else_=jobs.c.run_at)
    admits, params = quota.admits() if quota is not None else ("any", {})
    return conn.execute(sa.select(sa.func.min(claimable_at))
                        .where(jobs.c.state == JobState.QUEUED.value, _ADMITS[admits]),
                        params).scalar()
