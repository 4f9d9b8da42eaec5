"""The one suppression check, shared by the REST API (synchronous, before accepting) and
the SMTP pipeline (asynchronous, after 250)."""

from __future__ import annotations

from collections.abc import Iterable

from postlane.domain import addresses
from postlane.domain.suppression import Fate, outcome
from postlane.domain.types import Source
from postlane.store import Transaction, suppressions


def screen(conn: Transaction, server_id: int, stream: str, source: Source, hooks_enabled: bool,
           emails: Iterable[str]) -> dict[str, Fate]:
    """Each address's fate, keyed by its normalised form."""
    keys = [addresses.normalize(e) for e in emails]
    found = suppressions.lookup(conn, server_id, stream, keys)
    return {key: Fate(outcome(found.get(key), source, hooks_enabled), found.get(key))
            for key in keys}
