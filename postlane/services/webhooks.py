"""Retrying a webhook delivery by hand (a cancelled one too)."""

from __future__ import annotations

from postlane.domain.errors import AlreadyDelivered, Entity, NotFound
from postlane.domain.types import DeliveryState, JobKind
from postlane.store import Transaction, jobs, webhooks


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
