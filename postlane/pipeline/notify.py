"""Webhook notifications: fan a record out to every matching webhook, then POST each one
with retries. Each target gets its own delivery row (the log) and its own job."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from postlane.domain import payloads
from postlane.domain.records import Bounce, Server, Webhook, WebhookDelivery
from postlane.domain.retry import RetryIn
from postlane.domain.types import DeliveryState, JobKind, WebhookTrigger
from postlane.outbound.webhooks import post
from postlane.store import Transaction, jobs, servers, webhooks
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Notice:
    """One record to announce: ``build(include_content)`` makes its payload."""

    server: Server
    stream: str
    trigger: WebhookTrigger
    record_type: str
    build: Callable[[bool], dict[str, Any]]
    #: For an Open: whether it is the recipient's first. Targets that post first opens
    #: only (a webhook's Open PostFirstOpenOnly, the server's for OpenHookUrl) skip others.
    first_open: bool = True


@dataclass(frozen=True)
class Target:
    """Where one record goes: a webhook, or the server's legacy hook URL (no webhook id,
    no authentication, no headers), and whether the payload carries the content."""

    webhook_id: int | None
    url: str
    http_auth: dict[str, str] | None
    http_headers: list[dict[str, str]]
    include_content: bool


def enqueue(conn: Transaction, server: Server, stream: str, trigger: WebhookTrigger,
            record_type: str, build: Callable[[bool], dict[str, Any]]) -> int:
    """Queue one POST for every webhook of ``stream`` with ``trigger`` enabled, plus the
    server's legacy hook URL. Returns the number queued."""
    return enqueue_many(conn, [Notice(server, stream, trigger, record_type, build)])


def enqueue_many(conn: Transaction, notices: Sequence[Notice]) -> int:
    """:func:`enqueue` for several records: each stream's webhooks are read once, and the
    deliveries and their jobs are written with one statement each."""
    hooks: dict[tuple[int, str], list[Webhook]] = {}
    rows: list[dict[str, Any]] = []
    for notice in notices:
        key = (notice.server.id, notice.stream)
        if key not in hooks:
            hooks[key] = webhooks.listing(conn, *key)
        rows.extend({"server_id": notice.server.id, "webhook_id": target.webhook_id,
                     "url": target.url, "record_type": notice.record_type,
                     "payload": notice.build(target.include_content),
                     "http_auth": target.http_auth, "http_headers": target.http_headers}
                    for target in _targets(notice, hooks[key]))
    delivery_ids = webhooks.add_deliveries(conn, rows)
    from postlane import pipeline  # the registry imports this module: looked up when run

    pipeline.enqueue_many(conn, JobKind.NOTIFY, [str(i) for i in delivery_ids],
                          server_ids=[row["server_id"] for row in rows])
    return len(delivery_ids)


def _targets(notice: Notice, hooks: Sequence[Webhook]) -> list[Target]:
    targets: list[Target] = []
    for hook in hooks:
        trigger = hook.trigger(notice.trigger.value)
        if not notice.first_open and trigger.get("PostFirstOpenOnly"):
            continue
        if trigger.get("Enabled"):
            targets.append(Target(hook.id, hook.url, hook.http_auth,
                                  list(hook.http_headers or []),
                                  bool(trigger.get("IncludeContent"))))
    legacy = _legacy_target(notice.server, notice.trigger)
    if legacy is not None and (notice.first_open or not notice.server.post_first_open_only):
        targets.append(legacy)
    return targets


def _legacy_target(server: Server, trigger: WebhookTrigger) -> Target | None:
    """The server's own hook URL for the trigger (BounceHookUrl, DeliveryHookUrl,
    OpenHookUrl, ClickHookUrl), and its
    "include content" switch; None when it has none."""
    if trigger in (WebhookTrigger.BOUNCE, WebhookTrigger.SPAM_COMPLAINT):
        url, include = server.bounce_hook_url, server.include_bounce_content_in_hook
    elif trigger is WebhookTrigger.DELIVERY:
        url, include = server.delivery_hook_url, False
    elif trigger is WebhookTrigger.OPEN:
        url, include = server.open_hook_url, False
    elif trigger is WebhookTrigger.CLICK:
        url, include = server.click_hook_url, False
    else:
        return None
    return Target(None, url, None, [], bool(include)) if url else None


def bounce_notice(server: Server, bounce: Bounce) -> Notice:
    """Bounce webhooks; a spam complaint goes to SpamComplaint-trigger webhooks instead."""
    spam = bounce.bounce_type == "SpamComplaint"
    return Notice(server, bounce.stream,
                  WebhookTrigger.SPAM_COMPLAINT if spam else WebhookTrigger.BOUNCE,
                  "SpamComplaint" if spam else "Bounce",
                  functools.partial(payloads.bounce, bounce))


@dataclass(frozen=True)
class _Delivered:
    """A successful POST to record: its job and the receiver's status."""

    job: jobs.Job
    status: int | None


async def run(db: Database, tx: GroupCommitter, client: httpx.AsyncClient, job: jobs.Job,
              timeout: float, retry_in: RetryIn, *, max_response_bytes: int) -> None:
    """``retry_in`` is the registry's schedule for notify jobs (pipeline.Stage);
    ``timeout`` and ``max_response_bytes`` bound each POST (outbound.webhooks.post)."""
    loaded = await db.run(_load, db, int(job.ref))
    if loaded is None:  # nothing left to do: delivered, cancelled, or its server deleted
        await tx.submit(functools.partial(jobs.complete, job=job))
        return
    delivery, target = loaded
    if target is None:  # its webhook was deleted, or the hook URL cleared, since
        await tx.submit(functools.partial(_cancel, job=job, why=_gone(delivery)))
        return
    if _moved(delivery, target):  # changed since: the new target, never the old one
        delivery = replace(delivery, url=target.url, http_auth=target.http_auth,
                           http_headers=target.http_headers)
        await tx.submit(functools.partial(webhooks.retarget, delivery_id=delivery.id,
                                          url=target.url, http_auth=target.http_auth,
                                          http_headers=target.http_headers))
    result = await post(client, delivery, timeout, max_response_bytes)
    delay = None if result.give_up else retry_in(job.attempts)
    final = result.delivered or delay is None or job.attempts >= job.max_attempts
    if result.delivered:  # the common case: many are recorded together
        done = _Delivered(job, result.status)
        await tx.submit(functools.partial(_record_delivered, done=[done]),
                        many=_record_delivered, payload=done)
        return
    log.info("webhook %s to %s failed (attempt %d): %s", job.ref, delivery.url,
             job.attempts, result.error)
    await tx.submit(functools.partial(_record_failed, job=job, final=final,
                                      status=result.status, error=result.error, delay=delay))


def _load(db: Database, delivery_id: int) -> tuple[WebhookDelivery, Target | None] | None:
    """The delivery and where it goes now; None when nothing is left to do."""
    with db.read() as conn:
        found = webhooks.get_delivery_and_hook(conn, delivery_id)
        if found is None or found[0].state in _SETTLED:
            return None
        delivery, hook = found
        return delivery, _current_target(conn, delivery, hook)


#: Deliveries whose job has nothing more to do (a failed one runs again when retried).
_SETTLED = (DeliveryState.DELIVERED, DeliveryState.CANCELLED)

#: The trigger whose legacy hook URL a record type goes to (the server's BounceHookUrl
#: takes spam complaints too): one entry for each that _legacy_target serves.
_LEGACY_TRIGGERS = {"Bounce": WebhookTrigger.BOUNCE,
                    "SpamComplaint": WebhookTrigger.SPAM_COMPLAINT,
                    "Delivery": WebhookTrigger.DELIVERY, "Open": WebhookTrigger.OPEN,
                    "Click": WebhookTrigger.CLICK}


def _current_target(conn: Transaction, delivery: WebhookDelivery,
                    hook: Webhook | None) -> Target | None:
    """The delivery's webhook (``hook``, as it is now) or the server's hook URL for its
    record type, which may have changed since it was queued; None when it is gone."""
    if delivery.webhook_id is not None:
        return None if hook is None else Target(hook.id, hook.url, hook.http_auth,
                                                list(hook.http_headers or []), False)
    trigger = _LEGACY_TRIGGERS.get(delivery.record_type)
    if trigger is None:  # a record type this table does not know yet: as it was queued
        return Target(None, delivery.url, delivery.http_auth, delivery.http_headers, False)
    server = servers.get(conn, delivery.server_id)
    return None if server is None else _legacy_target(server, trigger)


def _moved(delivery: WebhookDelivery, target: Target) -> bool:
    return ((delivery.url, delivery.http_auth, delivery.http_headers or [])
            != (target.url, target.http_auth, target.http_headers))


def _gone(delivery: WebhookDelivery) -> str:
    if delivery.webhook_id is not None:
        return f"Cancelled: webhook {delivery.webhook_id} no longer exists"
    return f"Cancelled: the server has no hook URL for {delivery.record_type} records now"


def _cancel(conn: Transaction, *, job: jobs.Job, why: str) -> None:
    webhooks.cancel(conn, int(job.ref), why)
    jobs.complete(conn, job)


def _record_delivered(conn: Transaction, done: Sequence[_Delivered]) -> list[None]:
    """Successful POSTs: one statement per HTTP status for the log, one for the jobs."""
    by_status: dict[int | None, list[int]] = {}
    for item in done:
        by_status.setdefault(item.status, []).append(int(item.job.ref))
    for status, delivery_ids in by_status.items():
        webhooks.record_attempts(conn, delivery_ids, delivered=True, final=True,
                                 status=status, error=None)
    jobs.complete_many(conn, [item.job for item in done])
    return [None] * len(done)


def _record_failed(conn: Transaction, *, job: jobs.Job, final: bool, status: int | None,
                   error: str | None, delay: float | None) -> None:
    webhooks.record_attempt(conn, int(job.ref), delivered=False, final=final,
                            status=status, error=error)
    from postlane import pipeline  # the registry imports this module: looked up when run

    pipeline.fail(conn, job, error or "failed", None if final else delay)
