"""Fixtures. Storage and pipeline tests take ``backend`` and run on SQLite and PostgreSQL.

PostgreSQL comes from POSTLANE_TEST_PG_URL (default: this machine's local service). When
POSTLANE_REQUIRE_PG=1 (the README's test command sets it) an unreachable PostgreSQL fails
the run instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from postlane.store import migrate
from postlane.store.database import Database
from postlane.store.schema import metadata
from postlane.testing import fresh_pg_database, pg_problem
from tests.support.harness import RunningServer, WebhookReceiver, start_server, test_settings

#: The dashboard's browser fixtures (browser, page, dash): tests/support/browser.py.
pytest_plugins = ["tests.support.browser"]

PG_ADMIN_URL = os.environ.get("POSTLANE_TEST_PG_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("POSTLANE_REQUIRE_PG") == "1"


def _pg_available() -> str | None:
    return pg_problem(PG_ADMIN_URL)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    problem = _pg_available()
    if problem is not None:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {problem}"
        if REQUIRE_PG:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with fresh_pg_database(PG_ADMIN_URL, "postlane_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file (much faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "postlane.db"
    db = Database(f"sqlite:///{path}", pool_size=1)
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def _truncate(url: str) -> None:
    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path,
                 sqlite_template: Path) -> str:
    if backend == "sqlite":
        target = tmp_path / "postlane.db"
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=4)
    yield database
    database.close()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(test_settings(database_url, tmp_path / "data"))
    yield running
    running.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


@pytest.fixture
def make_server(database_url: str, tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Servers with overridden settings (retry_scale, admin_password, ...), stopped after."""
    started: list[RunningServer] = []

    def make(**overrides: Any) -> RunningServer:
        running = start_server(test_settings(database_url, tmp_path / "data", **overrides))
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
