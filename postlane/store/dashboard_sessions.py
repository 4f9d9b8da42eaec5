"""Dashboard sessions kept server-side, so that a logout (or the end of its lifetime)
ends a session in every API process, and a copied cookie stops working with it.

Rows are keyed by the SHA-256 of the session id, never the id itself: a copy of the table
logs no one in.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.store.schema import dashboard_sessions, utcnow


def create(conn: Connection, key: str, expires_at: datetime) -> None:
    conn.execute(dashboard_sessions.insert().values(key=key, created_at=utcnow(),
                                                    expires_at=expires_at))


def is_live(conn: Connection, key: str, now: datetime) -> bool:
    return conn.execute(sa.select(sa.literal(1)).where(
        dashboard_sessions.c.key == key, dashboard_sessions.c.expires_at > now)
    ).first() is not None


def revoke(conn: Connection, key: str) -> None:
    conn.execute(dashboard_sessions.delete().where(dashboard_sessions.c.key == key))


def purge_expired(conn: Connection, now: datetime) -> int:
    """Drop sessions past their lifetime (each login does, so the table stays small)."""
    result = conn.execute(dashboard_sessions.delete()
                          .where(dashboard_sessions.c.expires_at <= now))
    return result.rowcount or 0
