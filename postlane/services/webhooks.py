"""Retrying a webhook delivery by hand."""

from __future__ import annotations

from postlane.domain.errors import ApiError, ErrorCode
from postlane.domain.types import DeliveryState, JobKind
from postlane.store import Transaction, jobs, webhooks


def retry_delivery(conn: Transaction, server_id: int, delivery_id: int) -> None:
    row = webhooks.get_delivery(conn, delivery_id)
    if row is None or row.server_id != server_id:
        raise ApiError(ErrorCode.WEBHOOK_NOT_FOUND,
                       f"Webhook delivery {delivery_id} was not found.")
    if row.state is DeliveryState.DELIVERED:
        raise ApiError(ErrorCode.WEBHOOK_INVALID,
                       f"Webhook delivery {delivery_id} was already delivered.")
    jobs.retry_now(conn, JobKind.NOTIFY, str(delivery_id))
