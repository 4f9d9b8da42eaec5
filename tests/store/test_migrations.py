"""Alembic migrations on both backends: an empty database gets every table, upgrading is
idempotent, the migrated schema matches the SQLAlchemy metadata, and concurrent upgrades
on PostgreSQL are serialised by the advisory lock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from postlane.store import migrate
from postlane.store.database import Database, normalize_url
from postlane.store.schema import account_tokens, metadata, utcnow
from tests.conftest import PG_ADMIN_URL


def fresh_pg_database() -> Iterator[str]:
    name = f"postlane_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalize_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(sa.engine.make_url(normalize_url(PG_ADMIN_URL)).set(database=name)
                  .render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    request.getfixturevalue("pg_database")  # skips (or fails) when PostgreSQL is missing
    yield from fresh_pg_database()


def upgrade(url: str) -> None:
    db = Database(url, pool_size=1)
    try:
        migrate.upgrade(db)
    finally:
        db.close()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(normalize_url(url))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def versions(url: str) -> list[str]:
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def head() -> str:
    revision = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


def test_upgrade_creates_every_table(empty_url: str) -> None:
    assert table_names(empty_url) == set()
    upgrade(empty_url)
    assert table_names(empty_url) == set(metadata.tables) | {"alembic_version"}
    assert versions(empty_url) == [head()]


def test_upgrade_is_idempotent(empty_url: str) -> None:
    upgrade(empty_url)
    db = Database(empty_url, pool_size=1)
    try:
        with db.write() as conn:
            conn.execute(account_tokens.insert().values(token="keep-me", created_at=utcnow()))
        migrate.upgrade(db)  # same process, same engine
    finally:
        db.close()
    upgrade(empty_url)  # and a fresh process-like Database
    assert versions(empty_url) == [head()]
    assert table_names(empty_url) == set(metadata.tables) | {"alembic_version"}
    engine = sa.create_engine(normalize_url(empty_url))
    with engine.connect() as conn:
        assert list(conn.execute(sa.select(account_tokens.c.token)).scalars()) == ["keep-me"]
    engine.dispose()


def test_migrated_schema_matches_metadata(empty_url: str) -> None:
    upgrade(empty_url)
    engine = sa.create_engine(normalize_url(empty_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "compare_server_default": True})
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.parametrize("backend", ["postgresql"])  # the advisory lock is PostgreSQL's
def test_concurrent_upgrades_on_postgresql(empty_url: str) -> None:
    racers = 2
    start = threading.Barrier(racers, timeout=30)
    errors: list[BaseException] = []

    def race() -> None:
        db = Database(empty_url, pool_size=1)  # its own engine, as a separate process has
        try:
            start.wait()
            migrate.upgrade(db)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert versions(empty_url) == [head()]
    assert table_names(empty_url) == set(metadata.tables) | {"alembic_version"}


@pytest.mark.parametrize("backend", ["postgresql"])
def test_failed_upgrade_reports_cause_and_releases_lock(empty_url: str) -> None:
    engine = sa.create_engine(normalize_url(empty_url))
    with engine.begin() as conn:  # a stray table in the way of the first migration
        conn.execute(sa.text("CREATE TABLE servers (unrelated INTEGER)"))
    db = Database(empty_url, pool_size=1)
    try:
        with pytest.raises(sa.exc.ProgrammingError, match="already exists"):
            migrate.upgrade(db)
        # Still inside the failed process: another process can take the lock at once.
        with engine.connect() as conn:
            key = {"k": migrate._LOCK_KEY}
            assert conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), key).scalar()
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), key)
    finally:
        db.close()
        engine.dispose()
