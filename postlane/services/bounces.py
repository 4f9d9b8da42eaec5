"""Reactivating an address from one of its bounces."""

from __future__ import annotations

from postlane.domain.errors import BounceCannotActivate, Entity, NotFound, SuppressionFinal
from postlane.domain.records import Bounce
from postlane.services.suppressions import reactivate_address
from postlane.store import Transaction, bounces


def get(conn: Transaction, server_id: int, bounce_id: int) -> Bounce:
    row = bounces.get(conn, server_id, bounce_id)
    if row is None:
        raise NotFound(Entity.BOUNCE, bounce_id)
    return row


def activate(conn: Transaction, server_id: int, bounce_id: int) -> Bounce:
    """Reactivate the bounce's address (the one reactivation rule); a bounce that may not
    be reactivated, or whose suppression is a spam complaint, is BounceCannotActivate."""
    row = get(conn, server_id, bounce_id)
    if not row.inactive:
        return row
    if not row.can_activate:
        raise BounceCannotActivate(bounce_id)
    try:
        reactivate_address(conn, server_id, row.stream, row.email)
    except SuppressionFinal as exc:
        raise BounceCannotActivate(bounce_id) from exc
    return get(conn, server_id, bounce_id)
