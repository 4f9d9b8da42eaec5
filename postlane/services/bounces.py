"""Reactivating an address from one of its bounces."""

from __future__ import annotations

from postlane.domain.errors import ApiError, ErrorCode
from postlane.domain.records import Bounce
from postlane.domain.suppression import customer_can_delete
from postlane.store import Transaction, bounces, suppressions


def get(conn: Transaction, server_id: int, bounce_id: int) -> Bounce:
    row = bounces.get(conn, server_id, bounce_id)
    if row is None:
        raise ApiError(ErrorCode.BOUNCE_NOT_FOUND, f"Bounce {bounce_id} was not found.")
    return row


def activate(conn: Transaction, server_id: int, bounce_id: int) -> Bounce:
    """Remove the suppression behind the bounce and mark its bounces active again."""
    row = get(conn, server_id, bounce_id)
    if not row.inactive:
        return row
    suppression = suppressions.get(conn, server_id, row.stream, row.email)
    if not row.can_activate or (suppression is not None
                                and not customer_can_delete(suppression.reason)):
        raise ApiError(ErrorCode.BOUNCE_CANNOT_ACTIVATE,
                       f"Bounce {bounce_id} cannot be activated (spam complaints are final).")
    suppressions.delete(conn, server_id, row.stream, row.email)
    bounces.set_active(conn, server_id, row.stream, row.email)
    return get(conn, server_id, bounce_id)
