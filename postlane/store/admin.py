"""Whole databases rather than rows: is PostgreSQL there, and creating or dropping a
database through an administrative connection (for test runs, benchmarks and an
application's CI, via postlane.testing)."""

from __future__ import annotations

import sqlalchemy as sa

from postlane.store.database import normalize_url


def problem(url: str) -> str | None:
    """None when the database at ``url`` answers; else the first line of why not."""
    try:
        engine = sa.create_engine(normalize_url(url), connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
        return None
    except Exception as exc:
        return str(exc).splitlines()[0]


def _admin(admin_url: str) -> sa.Engine:
    return sa.create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")


def create_database(admin_url: str, name: str) -> str:
    """Create the PostgreSQL database ``name`` through ``admin_url``; returns its URL."""
    admin = _admin(admin_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return str(sa.engine.make_url(normalize_url(admin_url)).set(database=name)
               .render_as_string(hide_password=False))


def drop_database(admin_url: str, name: str) -> None:
    """Drop ``name`` (if it exists), with any connections still open to it."""
    admin = _admin(admin_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
