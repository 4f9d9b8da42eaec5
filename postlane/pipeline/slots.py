"""What one worker is running, counted as its claims are limited: webhook POSTs (notify
jobs) may hold at most a share of the worker's slots, and one server's POSTs at most a few
of those. A receiver that hangs keeps its POST (and the slot) until the deadline, so
without these limits one server's hanging receivers could hold every slot, and screen,
deliver and other servers' webhooks would wait for them (issue 12, item 1).

The limits are per worker: each worker process protects its own slots.

Due jobs a quota leaves alone stay in the queue, and looking past them costs a scan of
them. So a look that found nothing is remembered, and not repeated under a quota that
leaves alone as much, until there is news: a job queued, the poll interval gone by.
Without that, every POST that ends (and frees room for one more of its server's jobs)
would cost a scan of its server's whole backlog.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from postlane.config import Settings
from postlane.domain.jobs import Job
from postlane.domain.types import JobKind
from postlane.store import jobs

#: The kind whose jobs wait on receivers outside Postlane's control.
LIMITED = JobKind.NOTIFY


@dataclass(frozen=True)
class _Left:
    """What a quota leaves alone: the whole limited kind, or these servers' jobs of it."""

    kind: bool
    servers: frozenset[int]

    @classmethod
    def by(cls, quota: jobs.Quota) -> _Left:
        return cls(quota.free <= 0, frozenset(
            server for server, n in quota.running.items() if n >= quota.per_server))

    def covers(self, other: _Left) -> bool:
        """Leaves alone at least what ``other`` leaves alone."""
        return self.kind or (not other.kind and self.servers >= other.servers)


class Slots:
    def __init__(self, settings: Settings) -> None:
        self.size = settings.worker_concurrency
        #: Notify jobs at once; at least one, so webhooks always move.
        self.limit = max(1, int(settings.worker_concurrency * settings.webhook_worker_share))
        self.per_server = settings.webhook_concurrency_per_server
        self._running = 0
        self._by_server: Counter[int] = Counter()
        #: What the last fruitless look left alone, while there has been no news since.
        self._fruitless: _Left | None = None

    def quota(self, free: int) -> jobs.Quota:
        """What the next claim may take of the limited kind, ``free`` slots being free."""
        return jobs.Quota(LIMITED, min(free, self.limit - self._running), self.per_server,
                          dict(self._by_server))

    def worth_a_look(self, quota: jobs.Quota) -> bool:
        """False when a look that left alone no more than ``quota`` does found nothing,
        and nothing has happened since that could have changed that."""
        return self._fruitless is None or not _Left.by(quota).covers(self._fruitless)

    def looked(self, quota: jobs.Quota, claimed: int) -> None:
        if not claimed:
            self._fruitless = _Left.by(quota)

    def news(self) -> None:
        """Jobs may have been queued or come due: every look is worth it again."""
        self._fruitless = None

    def waiting(self, quota: jobs.Quota) -> bool:
        """True when due jobs may be waiting for room under ``quota``, and looking for
        the others was fruitless: only news or the end of a job can change that."""
        left = _Left.by(quota)
        return (left.kind or bool(left.servers)) and not self.worth_a_look(quota)

    def started(self, job: Job) -> None:
        if job.kind is LIMITED:
            self._running += 1
            if job.server_id is not None:
                self._by_server[job.server_id] += 1

    def finished(self, job: Job) -> bool:
        """Count ``job`` out; True when that made room a claim had to leave alone (then
        the worker looks for work at once: due jobs may be waiting for this room)."""
        if job.kind is not LIMITED:
            return False
        was_full = self._running >= self.limit
        self._running -= 1
        if job.server_id is None:
            return was_full
        server_full = self._by_server[job.server_id] >= self.per_server
        self._by_server[job.server_id] -= 1
        if not self._by_server[job.server_id]:
            del self._by_server[job.server_id]
        return was_full or server_full
