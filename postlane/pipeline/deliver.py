"""Delivery of screened recipients.

A recipient on Postmark's bounce-testing domain (domain.bounce_testing) is never sent to,
on any server: it bounces at once with the type its address names. Sandbox servers keep
the message for viewing and deliver nothing, but report each recipient Delivered with a
Delivery webhook, as Postmark does. Live servers send
through a transport (smarthost relay or direct MX): a 250 is Delivered (with Delivery
webhooks), a 5xx from the receiving server is a HardBounce that suppresses the address on
the stream, and a 4xx or an unreachable server is Transient and retried on the delivery
schedule; when that runs out the recipient gets a SoftBounce (not suppressed). An
internationalised address the next hop cannot take (no SMTPUTF8) is a HardBounce that
suppresses nothing: the path is at fault, not the address. A recipient the transport
gave no result for is retried like a 4xx, so none is ever left Queued by a delivery.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from postlane.domain import (
    bounce_testing,
    bounce_types,
    limits,
    mime,
    payloads,
    rendering,
    tracking,
    tracking_urls,
    verp,
)
from postlane.domain.records import Message, Recipient, Server
from postlane.domain.retry import RetryIn
from postlane.domain.types import (
    DeliveryType,
    EventType,
    RecipientStatus,
    WebhookTrigger,
)
from postlane.outbound.smtp_client import RcptResult, Verdict
from postlane.outbound.transports import Transport
from postlane.pipeline import bounce, notify
from postlane.store import Transaction, jobs, messages, servers
from postlane.store.group_commit import GroupCommitter
from postlane.store.schema import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    """A message still to deliver, its server and its recipients still Queued."""

    message: Message
    server: Server
    pending: list[Recipient]


def _load(conn: Transaction, job: jobs.Job) -> _Loaded | None:
    message = messages.get(conn, None, job.ref)
    server = servers.get(conn, message.server_id) if message else None
    if message is None or server is None:
        return None
    return _Loaded(message, server,
                   messages.recipients_of(conn, message.id, RecipientStatus.QUEUED))


#: What a Sandbox delivery reports, in its event and its Delivery webhook's Details.
SANDBOX_DETAILS = "Sandbox server: message stored, not sent."


def _sandbox(conn: Transaction, server: Server, message: Message,
             pending: Sequence[Recipient]) -> None:
    """Delivered without sending: the event and the Delivery webhook a live delivery
    has, with the same payload builder."""
    if not pending:
        return
    now = utcnow()
    messages.set_recipient_status(conn, [r.id for r in pending], RecipientStatus.SENT)
    for recipient in pending:
        messages.add_event(conn, message.id, recipient.address, EventType.DELIVERED, {
            "DeliveryMessage": SANDBOX_DETAILS,
            "DestinationServer": "sandbox", "DestinationIP": "",
        }, now)
    notify.enqueue_many(conn, [notify.Notice(
        server, message.stream, WebhookTrigger.DELIVERY, "Delivery",
        functools.partial(_delivery_payload, message, recipient.address, now))
        for recipient in pending])


def _delivery_payload(message: Message, address: str, at: datetime,
                      _include_content: bool) -> dict[str, Any]:
    return payloads.delivery(message, address, at, SANDBOX_DETAILS)


def _bounce_type_header(message: Message) -> str | None:
    if message.raw is not None:
        return bounce_testing.raw_header_value(message.raw)
    return bounce_testing.header_value(message.headers)


def _test_bounces(conn: Transaction, loaded: _Loaded) -> list[Recipient]:
    """Bounce the recipients on the bounce-testing domain through the shared bounce
    step; returns the others, still to deliver."""
    testing = [r for r in loaded.pending if bounce_testing.is_testing(r.email)]
    if not testing:
        return loaded.pending
    message = loaded.message
    header = _bounce_type_header(message)
    # The dump is the message, as text (PostgreSQL text holds no NUL).
    content = limits.without_nul(rendering.raw(message).decode("utf-8", "replace"))
    bounce.record_many(conn, [
        bounce.BounceCase(loaded.server, message, _test_bounce(r, header, content))
        for r in testing])
    bounced = {r.id for r in testing}
    return [r for r in loaded.pending if r.id not in bounced]


def _test_bounce(recipient: Recipient, header: str | None,
                 content: str) -> bounce.BounceFacts:
    kind = bounce_testing.bounce_type(recipient.email, header) or bounce_testing.DEFAULT
    rule = bounce_types.deactivation(kind)
    return bounce.BounceFacts(
        kind=kind, email=recipient.email,
        details=bounce_testing.details(recipient.address, kind),
        inactive=rule.inactive, can_activate=rule.can_activate, suppress=rule.suppress,
        content=content, recipient_id=recipient.id, address=recipient.address)


def _prepare(conn: Transaction, job: jobs.Job) -> _Loaded | None:
    """Test bounces, Sandbox and vanished messages finish here, in one transaction; Live
    ones go on with the recipients left to send to."""
    loaded = _load(conn, job)
    if loaded is None:
        jobs.complete(conn, job)
        return None
    rest = _test_bounces(conn, loaded)
    if loaded.server.delivery_type is DeliveryType.SANDBOX or not rest:
        _sandbox(conn, loaded.server, loaded.message, rest)
        jobs.complete(conn, job)
        return None
    return replace(loaded, pending=rest)


async def run(tx: GroupCommitter, job: jobs.Job, transport: Transport, signer: verp.Signer,
              retry_in: RetryIn, urls: tracking_urls.Urls | None = None) -> None:
    """``retry_in`` is the registry's schedule for deliver jobs (pipeline.Stage);
    ``signer`` makes each recipient's return path; ``urls`` each recipient's tracking
    URLs, for a message with open or link tracking (domain.tracking.plan)."""
    loaded = await tx.submit(functools.partial(_prepare, job=job))
    if loaded is None:
        return
    message, server = loaded.message, loaded.server
    what = tracking.plan(server.track_opens, server.track_links, message.track_opens,
                         message.track_links)
    if what.any and urls is not None:
        results = await _send_tracked(transport, signer, message, loaded.pending, what, urls)
    else:
        raw = mime.for_delivery(rendering.raw(message), message.id)
        results = await _send_each(transport, signer, message, loaded.pending, raw)
    await tx.submit(functools.partial(_record, job=job, results=results, retry_in=retry_in))


async def _send_tracked(transport: Transport, signer: verp.Signer, message: Message,
                        pending: Sequence[Recipient], what: tracking.Plan,
                        urls: tracking_urls.Urls) -> dict[str, RcptResult]:
    """A tracked message differs per recipient (its pixel and links carry his token), so
    each recipient gets his own copy in his own transaction, all at once."""
    base = rendering.raw(message)
    by_address = {r.address: r for r in pending}

    def copy(recipient: Recipient) -> bytes:
        try:
            tracked = tracking.rewrite(base, what, urls.open_url(message.id, recipient.id),
                                       functools.partial(urls.click_url, message.id,
                                                         recipient.id))
        except Exception:  # a message the email package cannot rebuild: sent untracked
            log.exception("message %s could not be rewritten for tracking", message.id)
            tracked = base
        return mime.for_delivery(tracked, message.id)

    parts = await asyncio.gather(*(
        transport.send_each([(signer.return_path(message.id, r.email), [address])], copy(r))
        for address, r in by_address.items()))
    return {rcpt: result for part in parts for rcpt, result in part.items()}


async def _send_each(transport: Transport, signer: verp.Signer, message: Message,
                     pending: Sequence[Recipient], raw: bytes) -> dict[str, RcptResult]:
    """One SMTP transaction per recipient, each with the return path whose VERP token
    binds that recipient alone (a report can then only be about him: pipeline.dsn).
    The transport runs those to one destination over shared sessions, within its
    per-destination cap."""
    by_address = {r.address: r for r in pending}  # an address listed twice gets one copy
    return await transport.send_each(
        [(signer.return_path(message.id, r.email), [address])
         for address, r in by_address.items()], raw)


#: For a recipient the transport returned nothing about (it should not happen): retried.
_NO_RESULT = RcptResult(Verdict.TRANSIENT, 0, "no result from the transport for this recipient")


def _record(conn: Transaction, *, job: jobs.Job, results: Mapping[str, RcptResult],
            retry_in: RetryIn) -> None:
    loaded = _load(conn, job)
    if loaded is None:
        jobs.complete(conn, job)
        return
    message, server = loaded.message, loaded.server
    delay = retry_in(job.attempts)
    final = delay is None or job.attempts >= job.max_attempts
    waiting = []
    for recipient in loaded.pending:
        result = results.get(recipient.address) or _NO_RESULT
        if result.verdict is Verdict.DELIVERED:
            _delivered(conn, server, message, recipient, result)
        elif result.verdict is Verdict.PERMANENT:
            _hard_bounce(conn, server, message, recipient, result)
        elif result.verdict is Verdict.UNSUPPORTED:
            _unsupported(conn, server, message, recipient, result)
        elif final:
            _gave_up(conn, server, message, recipient, result)
        else:
            _transient(conn, message, recipient, result)
            waiting.append(f"{recipient.address}: {result.summary}")
    if waiting:
        jobs.fail(conn, job, "; ".join(waiting)[:2000], delay)
    else:
        jobs.complete(conn, job)


def _delivered(conn: Transaction, server: Server, message: Message, recipient: Recipient,
               result: RcptResult) -> None:
    now = utcnow()
    messages.set_recipient_status(conn, [recipient.id], RecipientStatus.SENT)
    messages.add_event(conn, message.id, recipient.address, EventType.DELIVERED, {
        "DeliveryMessage": result.summary, "DestinationServer": result.server,
        "DestinationIP": result.ip,
    }, now)
    notify.enqueue(conn, server, message.stream, WebhookTrigger.DELIVERY, "Delivery",
                   lambda _: payloads.delivery(message, recipient.address, now,
                                               result.summary))


def _hard_bounce(conn: Transaction, server: Server, message: Message, recipient: Recipient,
                 result: RcptResult) -> None:
    kind = bounce_types.BY_TYPE["HardBounce"]
    rule = bounce_types.deactivation(kind)
    bounce.record(conn, server, message, bounce.BounceFacts(
        kind=kind, email=recipient.email, details=f"{result.server}: {result.summary}",
        inactive=rule.inactive, can_activate=rule.can_activate, suppress=rule.suppress,
        recipient_id=recipient.id, content=result.summary, address=recipient.address))


def _unsupported(conn: Transaction, server: Server, message: Message, recipient: Recipient,
                 result: RcptResult) -> None:
    """A permanent failure of the path, not of the address: bounced, never suppressed."""
    bounce.record(conn, server, message, bounce.BounceFacts(
        kind=bounce_types.BY_TYPE["HardBounce"], email=recipient.email,
        details=f"{result.server}: {result.summary}", inactive=False, can_activate=False,
        recipient_id=recipient.id, content=result.summary, address=recipient.address))


def _gave_up(conn: Transaction, server: Server, message: Message, recipient: Recipient,
             result: RcptResult) -> None:
    bounce.record(conn, server, message, bounce.BounceFacts(
        kind=bounce_types.BY_TYPE["SoftBounce"], email=recipient.email,
        details=f"Gave up after repeated temporary failures. Last: {result.summary}",
        inactive=False, can_activate=False, recipient_id=recipient.id,
        content=result.summary, address=recipient.address))


def _transient(conn: Transaction, message: Message, recipient: Recipient,
               result: RcptResult) -> None:
    messages.add_event(conn, message.id, recipient.address, EventType.TRANSIENT, {
        "Summary": f"Temporary failure, will retry: {result.summary}",
        "DestinationServer": result.server,
    })
