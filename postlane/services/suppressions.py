"""Suppress and reactivate addresses on a stream, as customers do (API, dashboard, CSV)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from postlane.domain import addresses
from postlane.domain.errors import ApiError, ErrorCode
from postlane.domain.suppression import customer_can_delete
from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.store import Transaction, bounces, streams, suppressions

INVALID = "An invalid email address was provided."
SPAM_IS_FINAL = ("You do not have the required authority to change this suppression "
                 "(SpamComplaint).")


def require_stream(conn: Transaction, server_id: int, stream_id: str) -> str:
    if streams.get(conn, server_id, stream_id) is None:
        raise ApiError(ErrorCode.STREAM_NOT_FOUND,
                       f"The message stream for the provided 'ID' ({stream_id}) was not found.")
    return stream_id.lower()


def _result(email: str, status: str, message: str | None = None) -> dict[str, Any]:
    return {"EmailAddress": email, "Status": status, "Message": message}


def suppress(conn: Transaction, server_id: int, stream_id: str,
             emails: Iterable[str]) -> list[dict[str, Any]]:
    """Customer suppressions: reason ManualSuppression, Origin Customer; idempotent."""
    stream = require_stream(conn, server_id, stream_id)
    results = []
    valid = []
    for email in emails:
        email = email.strip()
        if not addresses.is_valid(email):
            results.append(_result(email, "Failed", INVALID))
            continue
        valid.append(addresses.normalize(email))
        results.append(_result(email, "Suppressed"))
    suppressions.add_many(conn, server_id, stream, valid, SuppressionReason.MANUAL,
                          SuppressionOrigin.CUSTOMER)
    return results


def reactivate(conn: Transaction, server_id: int, stream_id: str,
               emails: Iterable[str]) -> list[dict[str, Any]]:
    """Delete suppressions (never a spam complaint's) and reactivate their bounces."""
    stream = require_stream(conn, server_id, stream_id)
    results = []
    for email in emails:
        email = email.strip()
        if not addresses.is_valid(email):
            results.append(_result(email, "Failed", INVALID))
            continue
        key = addresses.normalize(email)
        row = suppressions.get(conn, server_id, stream, key)
        if row is not None and not customer_can_delete(row.reason):
            results.append(_result(email, "Failed", SPAM_IS_FINAL))
            continue
        if row is not None:
            suppressions.delete(conn, server_id, stream, key)
            bounces.set_active(conn, server_id, stream, key)
        results.append(_result(email, "Deleted"))
    return results
