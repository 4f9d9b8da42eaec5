"""Webhook notifications: fan a record out to every matching webhook, then POST each one
with retries. Each target gets its own delivery row (the log) and its own job."""

from __future__ import annotations

import base64
import functools
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain import payloads
from postlane.domain.retry import WEBHOOK_SCHEDULE, next_delay
from postlane.domain.types import JobKind, WebhookTrigger
from postlane.store import jobs, webhooks
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

#: Postmark stops retrying when an endpoint answers 403: the receiver refuses on purpose.
_STOP_STATUSES = frozenset({403})


class ClientPool:
    """Several small httpx clients taken in turn: one client with a large connection pool
    costs markedly more CPU per request (its pool bookkeeping grows with the pool)."""

    def __init__(self, clients: int = 8, connections_each: int = 8) -> None:
        # One TLS context for them all: each client would load the CA bundle again (most
        # of a worker's start-up time).
        tls = httpx.create_ssl_context()
        self._clients = [httpx.AsyncClient(follow_redirects=False, verify=tls,
                                           limits=httpx.Limits(max_connections=connections_each))
                         for _ in range(clients)]
        self._turn = itertools.cycle(self._clients)

    def pick(self) -> httpx.AsyncClient:
        return next(self._turn)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def _trigger(row: Mapping[Any, Any], trigger: WebhookTrigger) -> Mapping[Any, Any]:
    return (row["triggers"] or {}).get(trigger.value) or {}


#: The server's legacy hook URL for each trigger, and its "include content" switch.
_LEGACY: dict[WebhookTrigger, tuple[str, str | None]] = {
    WebhookTrigger.BOUNCE: ("bounce_hook_url", "include_bounce_content_in_hook"),
    WebhookTrigger.SPAM_COMPLAINT: ("bounce_hook_url", "include_bounce_content_in_hook"),
    WebhookTrigger.DELIVERY: ("delivery_hook_url", None),
}


@dataclass(frozen=True)
class Notice:
    """One record to announce: ``build(include_content)`` makes its payload."""

    server: Mapping[Any, Any]
    stream: str
    trigger: WebhookTrigger
    record_type: str
    build: Callable[[bool], dict[str, Any]]


def enqueue(conn: Connection, server: Mapping[Any, Any], stream: str, trigger: WebhookTrigger,
            record_type: str, build: Callable[[bool], dict[str, Any]]) -> int:
    """Queue one POST for every webhook of ``stream`` with ``trigger`` enabled, plus the
    server's legacy hook URL. Returns the number queued."""
    return enqueue_many(conn, [Notice(server, stream, trigger, record_type, build)])


def enqueue_many(conn: Connection, notices: Sequence[Notice]) -> int:
    """:func:`enqueue` for several records: each stream's webhooks are read once, and the
    deliveries and their jobs are written with one statement each."""
    hooks: dict[tuple[int, str], list[RowMapping]] = {}
    rows: list[dict[str, Any]] = []
    for notice in notices:
        key = (notice.server["id"], notice.stream)
        if key not in hooks:
            hooks[key] = webhooks.listing(conn, *key)
        for webhook_id, url, auth, headers, include in _targets(notice, hooks[key]):
            rows.append({"server_id": notice.server["id"], "webhook_id": webhook_id,
                         "url": url, "record_type": notice.record_type,
                         "payload": notice.build(include), "http_auth": auth,
                         "http_headers": headers})
    delivery_ids = webhooks.add_deliveries(conn, rows)
    from postlane import pipeline  # the registry imports this module: looked up when run

    pipeline.enqueue_many(conn, JobKind.NOTIFY, [str(i) for i in delivery_ids])
    return len(delivery_ids)


#: Where one record goes: (webhook id or None for the legacy URL, url, auth, headers,
#: include content).
Target = tuple[int | None, str, Any, list[Any], bool]


def _targets(notice: Notice, hooks: Sequence[Mapping[Any, Any]]) -> list[Target]:
    targets: list[Target] = []
    for hook in hooks:
        trig = _trigger(hook, notice.trigger)
        if trig.get("Enabled"):
            targets.append((hook["id"], hook["url"], hook["http_auth"],
                            list(hook["http_headers"] or []), bool(trig.get("IncludeContent"))))
    url_column, content_column = _LEGACY[notice.trigger]
    if notice.server[url_column]:
        include = bool(notice.server[content_column]) if content_column else False
        targets.append((None, notice.server[url_column], None, [], include))
    return targets


def bounce_notice(server: Mapping[Any, Any], bounce: Mapping[Any, Any]) -> Notice:
    """Bounce webhooks; a spam complaint goes to SpamComplaint-trigger webhooks instead."""
    spam = bounce["bounce_type"] == "SpamComplaint"
    return Notice(server, bounce["stream"],
                  WebhookTrigger.SPAM_COMPLAINT if spam else WebhookTrigger.BOUNCE,
                  "SpamComplaint" if spam else "Bounce",
                  lambda include: payloads.bounce(bounce, include))


def _request_headers(delivery: Mapping[Any, Any]) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": "Postlane"}
    for header in delivery["http_headers"] or []:
        if header.get("Name"):
            headers[str(header["Name"])] = str(header.get("Value", ""))
    auth = delivery["http_auth"]
    if auth and (auth.get("Username") or auth.get("Password")):
        pair = f"{auth.get('Username', '')}:{auth.get('Password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    return headers


async def post(client: httpx.AsyncClient, delivery: Mapping[Any, Any],
               timeout: float) -> tuple[bool, bool, int | None, str | None]:
    """POST once. Returns (delivered, give_up, status, error)."""
    try:
        response = await client.post(delivery["url"], json=delivery["payload"],
                                     headers=_request_headers(delivery), timeout=timeout)
    except httpx.HTTPError as exc:
        return False, False, None, f"{type(exc).__name__}: {exc}"
    if 200 <= response.status_code < 300:
        return True, False, response.status_code, None
    give_up = response.status_code in _STOP_STATUSES
    return False, give_up, response.status_code, f"HTTP {response.status_code}"


async def run(db: Database, tx: GroupCommitter, client: httpx.AsyncClient, job: jobs.Job,
              timeout: float, retry_scale: float) -> None:
    delivery = await db.run(_load, db, int(job.ref))
    if delivery is None or delivery["state"] == "delivered":
        await tx.submit(functools.partial(jobs.complete, job=job))
        return
    delivered, give_up, status, error = await post(client, delivery, timeout)
    delay = None if give_up else next_delay(job.attempts, WEBHOOK_SCHEDULE, retry_scale)
    final = delivered or delay is None or job.attempts >= job.max_attempts
    if not delivered:
        log.info("webhook %s to %s failed (attempt %d): %s", job.ref, delivery["url"],
                 job.attempts, error)
    if delivered:  # the common case: many are recorded together
        await tx.submit(functools.partial(_record_delivered, done=[(job, status)]),
                        many=_record_delivered, payload=(job, status))
    else:
        await tx.submit(functools.partial(_record_failed, job=job, final=final,
                                          status=status, error=error, delay=delay))


def _load(db: Database, delivery_id: int) -> Mapping[Any, Any] | None:
    with db.read() as conn:
        return webhooks.get_delivery(conn, delivery_id)


def _record_delivered(conn: Connection, done: Sequence[tuple[jobs.Job, int | None]]) -> list[None]:
    """Successful POSTs: one statement per HTTP status for the log, one for the jobs."""
    by_status: dict[int | None, list[int]] = {}
    for job, status in done:
        by_status.setdefault(status, []).append(int(job.ref))
    for status, delivery_ids in by_status.items():
        webhooks.record_attempts(conn, delivery_ids, delivered=True, final=True,
                                 status=status, error=None)
    jobs.complete_many(conn, [job for job, _ in done])
    return [None] * len(done)


def _record_failed(conn: Connection, *, job: jobs.Job, final: bool, status: int | None,
                   error: str | None, delay: float | None) -> None:
    webhooks.record_attempt(conn, int(job.ref), delivered=False, final=final,
                            status=status, error=error)
    jobs.fail(conn, job, error or "failed", None if final else delay)
