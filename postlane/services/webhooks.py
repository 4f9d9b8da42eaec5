"""Webhooks: where a tenant's webhook may post (checked when it is saved), and retrying a
delivery by hand (a cancelled one too)."""

from __future__ import annotations

from postlane.domain import network
from postlane.domain.errors import (
    AlreadyDelivered,
    Entity,
    FieldProblem,
    InvalidFields,
    NotFound,
    TargetRefused,
)
from postlane.domain.types import DeliveryState, JobKind
from postlane.services.servers import HOOK_URLS, ServerFields
from postlane.store import Transaction, jobs, webhooks


def check_target(url: str, allow_private: bool, field: str = "Url") -> None:
    """Refuse ``url`` when its host spells a non-public address in any form (what DNS
    answers for a name is checked again when connecting); ``allow_private`` is the
    operator's Settings.webhook_private_targets_allowed. The URL's syntax is the request
    model's to check first (network.url_host)."""
    refusal = network.target_refusal(url, allow_private)
    if refusal is not None:
        raise TargetRefused(field, refusal.sentence("webhook host"))


def check_hook_urls(fields: ServerFields, allow_private: bool) -> None:
    """The same for a server's legacy hook URLs (BounceHookUrl, ...), as InvalidFields
    like the servers' other field rules; an empty URL turns a hook off and always
    passes."""
    problems: list[FieldProblem] = []
    for name in HOOK_URLS:
        url = getattr(fields, name)
        if not url:
            continue
        try:
            refusal = network.target_refusal(url, allow_private)
        except ValueError as exc:
            problems.append(FieldProblem(name, str(exc)))
            continue
        if refusal is not None:
            problems.append(FieldProblem(name, refusal.sentence("webhook host")))
    if problems:
        raise InvalidFields(problems)


def retry_delivery(conn: Transaction, server_id: int, delivery_id: int) -> None:
    row = webhooks.get_delivery(conn, delivery_id)
    if row is None or row.server_id != server_id:
        raise NotFound(Entity.WEBHOOK_DELIVERY, delivery_id)
    if row.state is DeliveryState.DELIVERED:
        raise AlreadyDelivered(delivery_id)
    if row.state is DeliveryState.CANCELLED:
        retry_cancelled(conn, delivery_id)
        return
    jobs.retry_now(conn, JobKind.NOTIFY, str(delivery_id))


def retry_cancelled(conn: Transaction, delivery_id: int) -> None:
    """A delivery cancelled because its target was gone (webhook deleted, hook URL
    cleared) is tried again against its target as it is now: if that is still gone, it
    is cancelled again at once, without a POST."""
    webhooks.reopen(conn, delivery_id)
    jobs.retry_now(conn, JobKind.NOTIFY, str(delivery_id), done_too=True)
