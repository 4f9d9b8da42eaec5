"""Suppress and reactivate addresses on a stream, as customers do (API, dashboard, CSV).

:func:`reactivate_address` is the one reactivation rule; the suppressions endpoints and
Bounce activate both use it, each reporting a refusal in its own shape. Every change goes
through pipeline.subscriptions, which announces it to SubscriptionChange webhooks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from postlane.domain import addresses
from postlane.domain.errors import SuppressionFinal
from postlane.domain.suppression import customer_can_delete
from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.pipeline import subscriptions
from postlane.services import streams as stream_service
from postlane.store import Transaction, bounces, suppressions

INVALID = "An invalid email address was provided."


def _result(email: str, status: str, message: str | None = None) -> dict[str, Any]:
    return {"EmailAddress": email, "Status": status, "Message": message}


def suppress(conn: Transaction, server_id: int, stream_id: str,
             emails: Iterable[str]) -> list[dict[str, Any]]:
    """Customer suppressions: reason ManualSuppression, Origin Customer; idempotent."""
    stream = stream_service.require(conn, server_id, stream_id).id
    results = []
    valid = []
    for email in emails:
        email = email.strip()
        if not addresses.is_valid(email):
            results.append(_result(email, "Failed", INVALID))
            continue
        valid.append(addresses.normalize(email))
        results.append(_result(email, "Suppressed"))
    subscriptions.suppress(conn, server_id, stream, valid, SuppressionReason.MANUAL,
                           SuppressionOrigin.CUSTOMER)
    return results


def reactivate_address(conn: Transaction, server_id: int, stream: str, email: str) -> None:
    """Delete the address's suppression on the stream (if any) and mark its bounces active
    again. A spam complaint's suppression is the recipient's decision: SuppressionFinal,
    and nothing changes. ``email`` is normalised, ``stream`` an existing stream's id."""
    row = suppressions.get(conn, server_id, stream, email)
    if row is not None and not customer_can_delete(row.reason):
        raise SuppressionFinal(email)
    if row is not None:
        subscriptions.release(conn, server_id, stream, email, SuppressionOrigin.CUSTOMER)
    bounces.set_active(conn, server_id, stream, email)


def reactivate(conn: Transaction, server_id: int, stream_id: str,
               emails: Iterable[str]) -> list[dict[str, Any]]:
    """Reactivate each address; a refusal is that address's own Failed result."""
    stream = stream_service.require(conn, server_id, stream_id).id
    results = []
    for email in emails:
        email = email.strip()
        if not addresses.is_valid(email):
            results.append(_result(email, "Failed", INVALID))
            continue
        try:
            reactivate_address(conn, server_id, stream, addresses.normalize(email))
        except SuppressionFinal as exc:
            results.append(_result(email, "Failed", exc.message))
            continue
        results.append(_result(email, "Deleted"))
    return results
