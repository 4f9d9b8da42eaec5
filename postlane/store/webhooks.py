"""Webhook configurations and the log of every delivery attempt made to them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain.records import Webhook, WebhookDelivery
from postlane.domain.types import DeliveryState, JobKind
from postlane.store import jobs
from postlane.store.rows import record
from postlane.store.schema import utcnow, webhook_deliveries, webhooks

#: Deliveries still to be attempted: their notify jobs are queued.
_OPEN = (DeliveryState.PENDING.value, DeliveryState.RETRYING.value)


def _webhook(row: RowMapping) -> Webhook:
    return record(Webhook, row)


def _delivery(row: RowMapping) -> WebhookDelivery:
    return record(WebhookDelivery, row, state=DeliveryState(row["state"]))


def create(conn: Connection, server_id: int, values: Mapping[str, Any]) -> int:
    return int(conn.execute(webhooks.insert().values(server_id=server_id, created_at=utcnow(),
                                                     **values)
                   .returning(webhooks.c.id)).scalar_one())


def get(conn: Connection, server_id: int, webhook_id: int) -> Webhook | None:
    row = conn.execute(sa.select(webhooks).where(webhooks.c.server_id == server_id,
                                                 webhooks.c.id == webhook_id)).mappings().first()
    return _webhook(row) if row is not None else None


def listing(conn: Connection, server_id: int, stream: str | None = None) -> list[Webhook]:
    where = [webhooks.c.server_id == server_id]
    if stream:
        where.append(webhooks.c.stream == stream)
    rows = conn.execute(sa.select(webhooks).where(*where).order_by(webhooks.c.id)).mappings()
    return [_webhook(row) for row in rows]


def update(conn: Connection, server_id: int, webhook_id: int, values: Mapping[str, Any]) -> None:
    if not values:  # a PUT that changes nothing (no body, or only the same MessageStream)
        return
    conn.execute(webhooks.update().where(webhooks.c.server_id == server_id,
                                         webhooks.c.id == webhook_id).values(**values))


def delete(conn: Connection, server_id: int, webhook_id: int) -> bool:
    """Delete a webhook and cancel its deliveries still to be attempted (their state says
    so at once and their jobs end), so nothing more goes to its URL."""
    if not conn.execute(webhooks.delete().where(webhooks.c.server_id == server_id,
                                                webhooks.c.id == webhook_id)).rowcount:
        return False
    why = f"Cancelled: webhook {webhook_id} was deleted"
    cancelled = conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.server_id == server_id,
               webhook_deliveries.c.webhook_id == webhook_id,
               webhook_deliveries.c.state.in_(_OPEN))
        .values(state=DeliveryState.CANCELLED.value, last_error=why)
        .returning(webhook_deliveries.c.id)).scalars().all()
    jobs.finish(conn, JobKind.NOTIFY, [str(i) for i in cancelled], why)
    return True


def add_deliveries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Pending deliveries in one executemany; their ids, in the order of ``rows``."""
    if not rows:
        return []
    now = utcnow()
    result = conn.execute(
        webhook_deliveries.insert().returning(webhook_deliveries.c.id,
                                              sort_by_parameter_order=True),
        [{"state": DeliveryState.PENDING.value, "attempts": 0, "created_at": now, **row}
         for row in rows])
    return [int(delivery_id) for delivery_id in result.scalars()]


def get_delivery(conn: Connection, delivery_id: int) -> WebhookDelivery | None:
    row = conn.execute(sa.select(webhook_deliveries)
                       .where(webhook_deliveries.c.id == delivery_id)).mappings().first()
    return _delivery(row) if row is not None else None


def cancel(conn: Connection, delivery_id: int, why: str) -> None:
    """A delivery whose target is gone (webhook deleted, hook URL cleared): no more tries;
    ``why`` goes in the log."""
    conn.execute(webhook_deliveries.update()
                 .where(webhook_deliveries.c.id == delivery_id,
                        webhook_deliveries.c.state.in_(_OPEN))
                 .values(state=DeliveryState.CANCELLED.value, last_error=why))


def reopen(conn: Connection, delivery_id: int) -> None:
    """A cancelled delivery retried by hand: to be attempted again."""
    conn.execute(webhook_deliveries.update()
                 .where(webhook_deliveries.c.id == delivery_id,
                        webhook_deliveries.c.state == DeliveryState.CANCELLED.value)
                 .values(state=DeliveryState.RETRYING.value))


def retarget(conn: Connection, delivery_id: int, *, url: str,
             http_auth: dict[str, str] | None, http_headers: list[dict[str, str]]) -> None:
    """Aim a delivery at its webhook's target as it is now (changed since it was queued):
    the log shows where its attempts go."""
    conn.execute(webhook_deliveries.update().where(webhook_deliveries.c.id == delivery_id)
                 .values(url=url, http_auth=http_auth, http_headers=http_headers))


def get_delivery_and_hook(conn: Connection, delivery_id: int
                          ) -> tuple[WebhookDelivery, Webhook | None] | None:
    """A delivery and its webhook as it is now (None when deleted, or for a server's
    legacy hook URL), in one query: the notify step reads both before every POST."""
    hook_columns = [column.label(f"hook_{column.name}") for column in webhooks.c]
    row = conn.execute(
        sa.select(webhook_deliveries, *hook_columns)
        .select_from(webhook_deliveries.outerjoin(webhooks, sa.and_(
            webhooks.c.id == webhook_deliveries.c.webhook_id,
            webhooks.c.server_id == webhook_deliveries.c.server_id)))
        .where(webhook_deliveries.c.id == delivery_id)).mappings().first()
    if row is None:
        return None
    delivery = WebhookDelivery(**{column.name: row[column.name]
                                  for column in webhook_deliveries.c if column.name != "state"},
                               state=DeliveryState(row["state"]))
    if row["hook_id"] is None:
        return delivery, None
    return delivery, Webhook(**{column.name: row[f"hook_{column.name}"]
                                for column in webhooks.c})


def record_attempt(conn: Connection, delivery_id: int, *, delivered: bool, final: bool,
                   status: int | None, error: str | None) -> None:
    record_attempts(conn, [delivery_id], delivered=delivered, final=final, status=status,
                    error=error)


def record_attempts(conn: Connection, delivery_ids: Sequence[int], *, delivered: bool,
                    final: bool, status: int | None, error: str | None) -> None:
    """One attempt with the same outcome for several deliveries, in one statement."""
    state = (DeliveryState.DELIVERED if delivered else
             DeliveryState.FAILED if final else DeliveryState.RETRYING)
    conn.execute(webhook_deliveries.update()
                 .where(webhook_deliveries.c.id.in_(list(delivery_ids)),
                        # one that was in flight when it was cancelled stays cancelled
                        webhook_deliveries.c.state != DeliveryState.CANCELLED.value).values(
        attempts=webhook_deliveries.c.attempts + 1, state=state.value, last_status=status,
        last_error=error, delivered_at=utcnow() if delivered else None))


def deliveries(conn: Connection, server_id: int, *, webhook_id: int | None = None,
               state: str | None = None, limit: int = 100) -> list[WebhookDelivery]:
    where = [webhook_deliveries.c.server_id == server_id]
    if webhook_id is not None:
        where.append(webhook_deliveries.c.webhook_id == webhook_id)
    if state:
        where.append(webhook_deliveries.c.state == state)
    rows = conn.execute(sa.select(webhook_deliveries).where(*where)
                        .order_by(webhook_deliveries.c.id.desc()).limit(limit)).mappings()
    return [_delivery(row) for row in rows]
