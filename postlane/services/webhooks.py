"""Retrying a webhook delivery by hand."""

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
    jobs.retry_now(conn, JobKind.NOTIFY, str(delivery_id))
