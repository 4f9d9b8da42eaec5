"""Retention: what is older than the retention period is deleted, as Postmark keeps
messages, their events, bounces and webhook logs for a limited time (45 days by default).

Suppressions are never purged (they are the point of keeping records). Jobs go once they
are finished (done or failed) and old; a job still queued is never touched. Deletes run
in small chunks, each its own transaction, so the SQLite write lock is never held long
and SMTP accepts go on meanwhile.

Reports that changed nothing (unmatched or unreadable) are anyone's junk: they have
limits of their own, an age and a total size, the oldest deleted first, applied even when
everything else is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.domain.types import JobState, ReportState
from postlane.store.database import Database
from postlane.store.schema import (
    bounces,
    inbound_reports,
    jobs,
    messages,
    servers,
    webhook_deliveries,
)

CHUNK = 1000


@dataclass
class Purged:
    """Rows deleted, by table."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, deleted: int) -> None:
        self.counts[table] = self.counts.get(table, 0) + deleted


@dataclass(frozen=True)
class UnmatchedLimits:
    """How long and how much of the reports that changed nothing are kept."""

    cutoff: datetime
    max_bytes: int


#: The states of reports that changed nothing.
_JUNK = (ReportState.UNMATCHED.value, ReportState.FAILED.value)


def purge(db: Database, cutoff: datetime | None, chunk: int = CHUNK,
          unmatched: UnmatchedLimits | None = None) -> Purged:
    """Delete everything older than ``cutoff`` (None: keep it all), and the unmatched
    reports beyond ``unmatched``'s limits. A message takes its recipients and events with
    it (ON DELETE CASCADE)."""
    purged = Purged()
    if cutoff is not None:
        _by_age(db, purged, cutoff, chunk)
    if unmatched is not None:
        _in_chunks(db, purged, inbound_reports, chunk, [
            inbound_reports.c.state.in_(_JUNK), inbound_reports.c.received_at < unmatched.cutoff])
        _over_size(db, purged, unmatched.max_bytes, chunk)
    return purged


def _by_age(db: Database, purged: Purged, cutoff: datetime, chunk: int) -> None:
    with db.read() as conn:
        server_ids = list(conn.execute(sa.select(servers.c.id)).scalars())
    for server_id in server_ids:  # the (server_id, time) indexes serve these queries
        for table, column in ((messages, messages.c.received_at),
                              (bounces, bounces.c.bounced_at),
                              (webhook_deliveries, webhook_deliveries.c.created_at),
                              (inbound_reports, inbound_reports.c.received_at)):
            _in_chunks(db, purged, table, chunk,
                       [table.c.server_id == server_id, column < cutoff])
    finished = [JobState.DONE.value, JobState.FAILED.value]
    _in_chunks(db, purged, jobs, chunk, [jobs.c.state.in_(finished), jobs.c.run_at < cutoff,
                                         jobs.c.finished_at < cutoff])
    # Reports that matched no server are kept by state, not by server.
    _in_chunks(db, purged, inbound_reports, chunk, [
        inbound_reports.c.server_id.is_(None),
        inbound_reports.c.state != ReportState.QUEUED.value,
        inbound_reports.c.received_at < cutoff])


def _over_size(db: Database, purged: Purged, max_bytes: int, chunk: int) -> None:
    """Delete the oldest unmatched reports until the rest hold at most ``max_bytes``.
    A report's running total (its size plus every newer one's) is unchanged by deleting
    older ones, so each round deletes exactly the next chunk of those over the limit."""
    total = sa.func.sum(inbound_reports.c.size).over(
        order_by=(inbound_reports.c.received_at.desc(), inbound_reports.c.id.desc()))
    ranked = (sa.select(inbound_reports.c.id, total.label("total"))
              .where(inbound_reports.c.state.in_(_JUNK)).subquery())
    query = sa.select(ranked.c.id).where(ranked.c.total > max_bytes).limit(chunk)
    while True:
        with db.read() as conn:
            ids = list(conn.execute(query).scalars())
        if not ids:
            return
        with db.write() as conn:
            deleted = conn.execute(inbound_reports.delete().where(
                inbound_reports.c.id.in_(ids), inbound_reports.c.state.in_(_JUNK))).rowcount
        purged.add(inbound_reports.name, deleted)
        if len(ids) < chunk:
            return


def _in_chunks(db: Database, purged: Purged, table: sa.Table, chunk: int,
               where: list[Any]) -> None:
    if table is inbound_reports:  # a report still waiting for its job is never purged
        where = [*where, inbound_reports.c.state != ReportState.QUEUED.value]
    while True:
        # Found with a read (no lock when there is nothing to do); deleted under the same
        # conditions, so a row that changed meanwhile (a failed job retried) stays.
        with db.read() as conn:
            ids = _some_ids(conn, table, where, chunk)
        if not ids:
            return
        with db.write() as conn:
            deleted = conn.execute(table.delete().where(table.c.id.in_(ids), *where)).rowcount
        purged.add(table.name, deleted)
        if len(ids) < chunk:
            return


def _some_ids(conn: Connection, table: sa.Table, where: list[Any], chunk: int) -> list[Any]:
    return list(conn.execute(sa.select(table.c.id).where(*where).limit(chunk)).scalars())
