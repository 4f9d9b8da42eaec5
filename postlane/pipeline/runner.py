"""The worker: claims due jobs under a lease and runs each one's step, as the job
registry (postlane.pipeline) declares it for the job's kind.

Database-only steps (screen, sandbox deliver) run in the same transaction as the job's
completion; steps with outside effects (webhook POSTs) record their outcome afterwards,
so at worst they repeat (at-least-once), never vanish.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from postlane import pipeline
from postlane.config import Settings
from postlane.domain.errors import DatabaseUnavailable
from postlane.domain.jobs import Job
from postlane.domain.types import JobKind
from postlane.outbound import transports
from postlane.outbound.targets import TargetPolicy
from postlane.outbound.webhooks import ClientPool
from postlane.pipeline.slots import Slots
from postlane.store import Transaction, jobs, retention
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter, Many

log = logging.getLogger(__name__)

#: Pauses between attempts to record a job's failure while the database is unreachable.
_RECORD_RETRY_FIRST = 0.5
_RECORD_RETRY_MAX = 10.0


class AttemptsSpent(Exception):
    """A job claimed once more than it may be: each of its attempts ended without an
    outcome (the worker running it crashed or was killed, and its lease ran out). It is
    given up, not run again for ever (its kind's exhausted hook records why)."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"all {job.max_attempts} attempts stopped without recording an "
                         "outcome (the worker crashed or was killed mid-step)")


class Worker:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wakeup = asyncio.Event()
        #: Running jobs, counted as claims are limited (webhook POSTs per kind, per server).
        self._slots = Slots(settings)
        self._tasks: set[asyncio.Task[None]] = set()
        #: The jobs running now, by id: their leases are renewed while they run.
        self._running: dict[int, Job] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: ClientPool | None = None
        #: What steps that reach outside the database use; made when the worker runs.
        self._resources: pipeline.Resources | None = None
        self.transport = transports.build(settings)
        #: The worker's writes share transactions (one fsync for many steps), each step in
        #: its own savepoint, as the SMTP accepts do.
        self.tx = GroupCommitter(db)
        #: Steps of one kind that share a group transaction are done together (one
        #: function object per kind, so the committer can tell they belong together).
        self._batches: dict[JobKind, Many] = {
            stage.kind: _batch(stage.step, settings) for stage in pipeline.STAGES
            if isinstance(stage.step, pipeline.DatabaseStep) and stage.step.run_many}

    def wake(self) -> None:
        """Called after an accept, from any thread: look for work now, not at the next poll."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._news)

    def _news(self) -> None:
        """Jobs may have been queued: look for work now, even where a look found none."""
        self._slots.news()
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self.tx.start()
        self._clients = ClientPool(targets=TargetPolicy.from_settings(self.settings))
        self._resources = pipeline.Resources(self.db, self.tx, self.settings, self.transport,
                                             self._clients)
        retaining = asyncio.create_task(self._retain(stop))
        renewing = asyncio.create_task(self._renew_leases(stop))
        try:
            while not stop.is_set():
                # Cleared before claiming: a wake-up that comes during the claim or the idle
                # query below is kept, so its job runs at once, not at the next poll.
                self._wakeup.clear()
                claimed = await self._claim_some()
                if not claimed:
                    await self._idle(stop)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            retaining.cancel()
            renewing.cancel()
            await asyncio.gather(retaining, renewing, return_exceptions=True)
            await self._clients.aclose()
            self.tx.stop()

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        """Renew the running jobs' leases three times per lease: a step may outlast one
        (a large message to many recipients over a slow link, a slow receiver), and
        must not be claimed again and run twice meanwhile. Only a worker that stops
        renewing (crashed, killed, its loop stuck) loses its jobs to others."""
        lease = self.settings.worker_lease_seconds
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), lease / 3)
            if not self._running:
                continue
            try:
                await self.tx.submit(functools.partial(
                    jobs.renew, owner=self.owner, ids=list(self._running),
                    lease_seconds=lease))
            except Exception:  # the database is away: the next round tries again
                log.warning("could not renew the leases of %d running jobs",
                            len(self._running))

    async def _retain(self, stop: asyncio.Event) -> None:
        """Purge what has passed the retention period: at start, then at each interval.
        Unmatched reports have limits of their own, kept even when the rest is not purged."""
        settings = self.settings
        while not stop.is_set():
            now = datetime.now(UTC)
            cutoff = (now - timedelta(days=settings.retention_days)
                      if settings.retention_days > 0 else None)
            unmatched = retention.UnmatchedLimits(
                now - timedelta(days=settings.mx_unmatched_retention_days),
                settings.mx_unmatched_max_bytes)
            try:
                purged = await self.db.run(retention.purge, self.db, cutoff,
                                           unmatched=unmatched)
                if any(purged.counts.values()):
                    log.info("retention: deleted %s", purged.counts)
            except Exception:  # the database is away: try again at the next interval
                log.exception("retention pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.retention_interval_seconds)

    async def _claim_some(self) -> int:
        free = self.settings.worker_concurrency - len(self._tasks)
        if free <= 0:
            await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            return 1
        quota = self._slots.quota(free)
        if not self._slots.worth_a_look(quota):
            return 0
        try:
            claimed = await self.tx.submit(functools.partial(
                jobs.claim, owner=self.owner, limit=free,
                lease_seconds=self.settings.worker_lease_seconds, quota=quota))
        except Exception:  # database down: keep the worker alive, try again shortly
            log.exception("claiming jobs failed")
            return 0
        self._slots.looked(quota, len(claimed))
        for job in claimed:
            self._slots.started(job)
            self._running[job.id] = job
            task = asyncio.create_task(self._run_one(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _idle(self, stop: asyncio.Event) -> None:
        timeout = self.settings.worker_poll_seconds
        quota = self._slots.quota(self.settings.worker_concurrency - len(self._tasks))
        # Due jobs the quota leaves alone do not count: the end of a running job makes
        # room for them and wakes the worker (_run_one). While they wait, the next look
        # is at the poll (finding the next due time would scan past them, again).
        with contextlib.suppress(Exception):
            due = None if self._slots.waiting(quota) else await self.db.run(self._next_due,
                                                                            quota)
            if due is not None:
                timeout = min(timeout, max(0.0, (due - datetime.now(UTC)).total_seconds()))
        waiters = [asyncio.create_task(self._wakeup.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for w in waiters:
            w.cancel()
        if not self._wakeup.is_set():  # the poll, or the next job's due time: look again
            self._slots.news()

    def _next_due(self, quota: jobs.Quota) -> datetime | None:
        with self.db.read() as conn:
            return jobs.next_run_at(conn, quota)

    async def _run_one(self, job: Job) -> None:
        stage = pipeline.BY_KIND[job.kind]
        try:
            if job.attempts > job.max_attempts:
                raise AttemptsSpent(job)
            await self._run_step(stage, job)
            if stage.feeds:
                self._news()  # it may have queued jobs of the next kinds: claim them now
        except jobs.LeaseLost:
            log.warning("lease lost on job %s; another worker owns it", job.id)
        except Exception as exc:
            log.warning("job %s (%s %s) failed: %s", job.id, job.kind.value, job.ref, exc)
            await self._schedule_retry(job, exc)
        finally:
            self._running.pop(job.id, None)
            if self._slots.finished(job):
                self._wakeup.set()  # due jobs may have waited for this room

    async def _run_step(self, stage: pipeline.Stage, job: Job) -> None:
        step = stage.step
        if not isinstance(step, pipeline.DatabaseStep):
            assert self._resources is not None, "steps run only while the worker runs"
            await step(self._resources, job)
            return
        settings = self.settings

        def work(conn: Transaction) -> None:
            """Its effects and the job's completion commit together."""
            step.run(conn, job, settings)

        await self.tx.submit(work, many=self._batches.get(stage.kind), payload=job)

    async def _schedule_retry(self, job: Job, exc: Exception) -> None:
        """Record the failure and when to try again, on the job kind's own schedule. A
        job that failed because the database went away usually cannot record that
        either: keep trying while our lease lasts, so after a short outage the job runs
        again on its retry schedule instead of waiting for the lease to run out (as
        after a crash)."""
        delay = pipeline.BY_KIND[job.kind].retry_in(self.settings.retry_scale)(job.attempts)
        # pipeline.fail: when this was the last attempt, the kind's exhausted hook runs too.
        record = functools.partial(pipeline.fail, job=job, error=f"{type(exc).__name__}: {exc}",
                                   retry_in=delay)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.settings.worker_lease_seconds
        pause = _RECORD_RETRY_FIRST
        while True:
            try:
                await self.tx.submit(record)
                return
            except DatabaseUnavailable:
                if loop.time() + pause >= give_up_at:
                    log.warning("could not record the failure of job %s; it runs again when "
                                "its lease ends", job.id)
                    return
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RECORD_RETRY_MAX)
            except Exception:  # e.g. the lease was lost meanwhile: nothing more to record
                return


def _batch(step: pipeline.DatabaseStep, settings: Settings) -> Many:
    """The batch form of ``step`` as the group committer calls it: one object, made once."""
    run_many = step.run_many
    assert run_many is not None

    def many(conn: Transaction, batch: list[Job]) -> list[None]:
        return run_many(conn, batch, settings)

    return many
