"""The suppression list's one writer: every address added to or removed from a stream's
list goes through here, so every real change is announced to the stream's
SubscriptionChange webhooks, in the transaction that makes it.

Customer suppressions and reactivations (API, dashboard, CSV import, Bounce activate) and
the bounces that suppress (hard bounces, spam complaints) all call :func:`suppress` and
:func:`release`. Only real changes are announced: an address already on the list, or one
that was not on it, changes nothing and sends nothing. A stream nobody listens to pays no
more than before (one query for its webhooks), which keeps large imports fast.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from postlane.domain import payloads
from postlane.domain.records import Message, SubscriptionChange
from postlane.domain.types import SuppressionOrigin, SuppressionReason, WebhookTrigger
from postlane.pipeline import notify
from postlane.store import Transaction, servers, suppressions, webhooks
from postlane.store.schema import utcnow

RECORD_TYPE = "SubscriptionChange"


def suppress(conn: Transaction, server_id: int, stream: str, emails: Iterable[str],
             reason: SuppressionReason, origin: SuppressionOrigin,
             causes: Mapping[str, Message] | None = None) -> int:
    """Add normalised ``emails`` to the list (an address already there keeps its reason)
    and announce the new ones; ``causes`` names the message behind an address, when one
    is (a bounce). Returns how many were new."""
    if not _listened(conn, server_id, stream):
        return suppressions.add_many(conn, server_id, stream, emails, reason, origin)
    added = suppressions.add_new(conn, server_id, stream, emails, reason, origin)
    now, causes = utcnow(), causes or {}
    _announce(conn, server_id, [_change(server_id, stream, email, origin, reason, now,
                                        causes.get(email)) for email in added])
    return len(added)


def release(conn: Transaction, server_id: int, stream: str, email: str,
            origin: SuppressionOrigin) -> bool:
    """Remove ``email`` (normalised) from the list and announce it, if it was there."""
    if not suppressions.delete(conn, server_id, stream, email):
        return False
    if _listened(conn, server_id, stream):
        _announce(conn, server_id, [_change(server_id, stream, email, origin, None, utcnow(),
                                            None)])
    return True


def _listened(conn: Transaction, server_id: int, stream: str) -> bool:
    """Whether a webhook of the stream has the SubscriptionChange trigger enabled (the
    servers' legacy hook URLs have none for it)."""
    trigger = WebhookTrigger.SUBSCRIPTION_CHANGE.value
    return any(hook.trigger(trigger).get("Enabled")
               for hook in webhooks.listing(conn, server_id, stream))


def _change(server_id: int, stream: str, email: str, origin: SuppressionOrigin,
            reason: SuppressionReason | None, now: datetime,
            cause: Message | None) -> SubscriptionChange:
    return SubscriptionChange(
        server_id=server_id, stream=stream, email=email, origin=origin, reason=reason,
        changed_at=now,
        message_id=cause.id if cause else None, tag=cause.tag if cause else None,
        metadata=(cause.metadata or {}) if cause else {})


def _announce(conn: Transaction, server_id: int, changes: Sequence[SubscriptionChange]) -> None:
    """Queue the webhooks of ``changes`` (one server's) in one batch."""
    server = servers.get(conn, server_id) if changes else None
    if server is None:
        return
    notify.enqueue_many(conn, [
        notify.Notice(server, change.stream, WebhookTrigger.SUBSCRIPTION_CHANGE, RECORD_TYPE,
                      functools.partial(payloads.subscription_change, change))
        for change in changes])
