"""The pipeline: what happens to a message after it is accepted, declared here once.

One job kind per step, in flow order::

    screen (suppressions; the seed) -> deliver (tracking: pixel and links, per recipient;
    Sandbox | relay | MX) -> notify (webhooks)
    dsn (received bounce reports -> bounces -> notify)

Open and link tracking is part of deliver, not a kind of its own: a tracked message's
bytes differ per recipient, and deliver is where each recipient's copy is made (after
the REST message is composed, domain.rendering). The kinds still to come take their
places in ``STAGES``: sign (DKIM) between screen and deliver; inbound (parse -> inbound
webhook) beside dsn.

For each kind: its step, the batch form of the step where there is one, its retry
schedule, the kinds it may queue next, and what a job of the kind leaves on its message
when it runs out of attempts (:func:`fail`). Enqueueing takes a job's max attempts from
here and the runner dispatches from here, so a new kind is one entry in ``STAGES``.

The step modules do not import this module at import time (it imports them): the two
that queue follow-up jobs look up :func:`enqueue_many` when they run.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from postlane.config import Settings
from postlane.domain import retry, tracking_urls, verp
from postlane.domain.jobs import Job
from postlane.domain.types import JobKind
from postlane.outbound.transports import Transport
from postlane.outbound.webhooks import ClientPool
from postlane.pipeline import deliver, dsn, exhausted, notify, screen
from postlane.store import Transaction, jobs, signing_keys
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    """What a worker lends the steps that reach outside the database."""

    db: Database
    tx: GroupCommitter
    settings: Settings
    transport: Transport
    clients: ClientPool


#: A step with effects outside the database (an SMTP transaction, a webhook POST): it
#: records its outcome itself, afterwards, so at worst it repeats (at-least-once).
OutsideStep = Callable[[Resources, Job], Awaitable[None]]


@dataclass(frozen=True)
class DatabaseStep:
    """A step that only reads and writes the database: it runs in the transaction that
    completes its job, so a crash re-runs it whole or not at all."""

    run: Callable[[Transaction, Job, Settings], None]
    #: The step for jobs that share a group transaction: a few statements for them all.
    run_many: Callable[[Transaction, Sequence[Job], Settings], list[None]] | None = None


@dataclass(frozen=True)
class Stage:
    kind: JobKind
    step: OutsideStep | DatabaseStep
    #: Waits between attempts (domain.retry); its length sets the job's max attempts.
    schedule: tuple[float, ...]
    #: The kinds this step may queue: after it, the worker looks for work at once.
    feeds: tuple[JobKind, ...] = ()
    #: What a job of this kind leaves behind when it runs out of attempts (events on its
    #: message, its recipients settled; pipeline.exhausted), given the last error.
    exhausted: Callable[[Transaction, Job, str], None] | None = None

    @property
    def max_attempts(self) -> int:
        return retry.max_attempts(self.schedule)

    def retry_in(self, scale: float) -> retry.RetryIn:
        """This kind's schedule as the steps and the runner apply it (tests shrink it)."""
        return functools.partial(_delay, schedule=self.schedule, scale=scale)


def _delay(attempts_made: int, *, schedule: tuple[float, ...], scale: float) -> float | None:
    return retry.next_delay(attempts_made, schedule, scale)


# --- each kind's step, adapted to the two shapes above ------------------------------------

def _screen(conn: Transaction, job: Job, settings: Settings) -> None:
    screen.run(conn, job, settings.smtp_api_error_labels)


def _screen_many(conn: Transaction, batch: Sequence[Job], settings: Settings) -> list[None]:
    return screen.run_many(conn, batch, settings.smtp_api_error_labels)


async def _deliver(res: Resources, job: Job) -> None:
    key = await res.db.run(signing_keys.verp_key, res.db, res.settings.verp_secret)
    tracking_key = await res.db.run(signing_keys.tracking_key, res.db,
                                    res.settings.tracking_secret)
    await deliver.run(res.tx, job, res.transport, verp.Signer(key, res.settings.bounce_domain),
                      BY_KIND[JobKind.DELIVER].retry_in(res.settings.retry_scale),
                      tracking_urls.Urls(tracking_key, res.settings.tracking_base_url))


async def _notify(res: Resources, job: Job) -> None:
    await notify.run(res.db, res.tx, res.clients.pick(), job,
                     res.settings.webhook_timeout_seconds,
                     BY_KIND[JobKind.NOTIFY].retry_in(res.settings.retry_scale),
                     max_response_bytes=res.settings.webhook_max_response_bytes)


def _dsn(conn: Transaction, job: Job, settings: Settings) -> None:
    dsn.run(conn, job, signing_keys.verp_key_in(conn, settings.verp_secret))


#: Every job kind, in flow order.
STAGES: tuple[Stage, ...] = (
    Stage(JobKind.SCREEN, DatabaseStep(_screen, _screen_many), retry.INTERNAL_SCHEDULE,
          feeds=(JobKind.DELIVER, JobKind.NOTIFY), exhausted=exhausted.message_step),
    Stage(JobKind.DELIVER, _deliver, retry.DELIVERY_SCHEDULE, feeds=(JobKind.NOTIFY,),
          exhausted=exhausted.message_step),
    Stage(JobKind.NOTIFY, _notify, retry.WEBHOOK_SCHEDULE, exhausted=exhausted.notify),
    Stage(JobKind.DSN, DatabaseStep(_dsn), retry.INTERNAL_SCHEDULE, feeds=(JobKind.NOTIFY,),
          exhausted=exhausted.dsn),
)

BY_KIND: Mapping[JobKind, Stage] = {stage.kind: stage for stage in STAGES}


def enqueue(conn: Transaction, kind: JobKind, ref: str, run_at: datetime | None = None) -> None:
    """Queue one job in the caller's transaction, with its kind's max attempts."""
    enqueue_many(conn, kind, [ref], run_at)


def enqueue_many(conn: Transaction, kind: JobKind, refs: Sequence[str],
                 run_at: datetime | None = None,
                 server_ids: Sequence[int] | None = None) -> None:
    """``server_ids``, one per ref, for kinds that claims limit per server (notify)."""
    jobs.enqueue_many(conn, kind, refs, BY_KIND[kind].max_attempts, run_at, server_ids)


def fail(conn: Transaction, job: Job, error: str, retry_in: float | None) -> None:
    """Record a failed attempt (``jobs.fail``). When it was the job's last, its kind's
    ``exhausted`` hook runs in the same transaction, in a savepoint of its own: what made
    the step fail may trouble the hook too, and that must never keep the job from being
    given up (it would run again at every lease expiry)."""
    if not jobs.fail(conn, job, error, retry_in):
        return
    hook = BY_KIND[job.kind].exhausted
    if hook is None:
        return
    try:
        with conn.begin_nested():
            hook(conn, job, error)
    except Exception:
        log.exception("job %s (%s %s) ran out of attempts; recording that failed too",
                      job.id, job.kind.value, job.ref)
