"""Dashboard sessions in the store, on both databases: a session is live until it expires
or is revoked, and expired rows are purged (the dashboard's own behaviour over HTTP:
tests/e2e/test_dashboard_security.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postlane.store import dashboard_sessions
from postlane.store.database import Database

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_live_until_expired_or_revoked(db: Database) -> None:
    with db.write() as conn:
        dashboard_sessions.create(conn, "a" * 64, NOW + timedelta(hours=1))
        dashboard_sessions.create(conn, "b" * 64, NOW + timedelta(hours=1))
        dashboard_sessions.create(conn, "c" * 64, NOW - timedelta(seconds=1))
    with db.write() as conn:
        dashboard_sessions.revoke(conn, "b" * 64)
    with db.read() as conn:
        assert dashboard_sessions.is_live(conn, "a" * 64, NOW)
        assert not dashboard_sessions.is_live(conn, "a" * 64, NOW + timedelta(hours=1))
        assert not dashboard_sessions.is_live(conn, "b" * 64, NOW)  # revoked
        assert not dashboard_sessions.is_live(conn, "c" * 64, NOW)  # expired
        assert not dashboard_sessions.is_live(conn, "d" * 64, NOW)  # never there
    with db.write() as conn:
        assert dashboard_sessions.purge_expired(conn, NOW) == 1
        assert dashboard_sessions.purge_expired(conn, NOW) == 0
    with db.read() as conn:
        assert dashboard_sessions.is_live(conn, "a" * 64, NOW)
