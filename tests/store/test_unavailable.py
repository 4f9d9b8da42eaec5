"""The store's error boundary: an unreachable database reaches callers as
DatabaseUnavailable (through read, write, run and the group committer) whatever the
backend, while errors in the work itself stay what they are."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from postlane.domain.errors import DatabaseUnavailable, Entity, NotFound
from postlane.store import Transaction, tokens
from postlane.store.database import Database
from postlane.store.errors import is_unavailable, translated
from postlane.store.group_commit import GroupCommitter


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(params=["sqlite", "postgresql"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database that cannot be opened: a directory where the SQLite file should be, or
    a PostgreSQL port nobody listens on."""
    if request.param == "sqlite":
        (tmp_path / "db").mkdir()
        url = f"sqlite:///{tmp_path / 'db'}"
    else:
        url = f"postgresql://postgres@127.0.0.1:{_refused_port()}/nowhere"
    database = Database(url, pool_size=1)
    yield database
    database.close()


def _assert_outage(caught: pytest.ExceptionInfo[DatabaseUnavailable]) -> None:
    """The driver's error is the cause, and its text is kept for logs and /healthz."""
    cause = caught.value.__cause__
    assert isinstance(cause, sa.exc.DBAPIError) and is_unavailable(cause)
    assert str(caught.value) == str(cause)


def test_read_and_write(unreachable: Database) -> None:
    with pytest.raises(DatabaseUnavailable) as reading, unreachable.read():
        pass
    _assert_outage(reading)
    with pytest.raises(DatabaseUnavailable) as writing, unreachable.write():
        pass
    _assert_outage(writing)
    with pytest.raises(DatabaseUnavailable) as pinging:
        unreachable.ping()
    _assert_outage(pinging)


def test_run_translates_work_that_goes_past_read_and_write(unreachable: Database) -> None:
    def connect_directly() -> None:
        with unreachable.engine.connect():
            pass

    with pytest.raises(DatabaseUnavailable) as caught:
        asyncio.run(unreachable.run(connect_directly))
    _assert_outage(caught)


def test_group_commit_submitters_see_database_unavailable(unreachable: Database) -> None:
    committer = GroupCommitter(unreachable)

    async def submit_two() -> list[BaseException | int]:
        committer.start()
        try:
            return await asyncio.gather(committer.submit(lambda conn: 1),
                                        committer.submit(lambda conn: 2),
                                        return_exceptions=True)
        finally:
            committer.stop()

    results = asyncio.run(submit_two())
    assert [type(result) for result in results] == [DatabaseUnavailable] * 2


def _duplicate_token(conn: Transaction) -> None:
    tokens.add_account_token(conn, "same-token")
    tokens.add_account_token(conn, "same-token")


def test_errors_in_the_work_are_not_outages(db: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError), db.write() as conn:
        _duplicate_token(conn)
    with pytest.raises(NotFound), db.read():
        raise NotFound(Entity.SERVER, 1)
    with pytest.raises(sa.exc.IntegrityError):
        asyncio.run(db.run(lambda: _duplicate_token_in(db)))


def _duplicate_token_in(db: Database) -> None:
    with db.write() as conn:
        _duplicate_token(conn)


def test_group_commit_keeps_an_items_own_error(db: Database) -> None:
    """One item's failure in its savepoint is its own, untranslated; the others commit."""
    committer = GroupCommitter(db)

    async def submit() -> list[BaseException | str]:
        committer.start()
        try:
            return await asyncio.gather(
                committer.submit(_duplicate_token),
                committer.submit(lambda conn: tokens.add_account_token(conn, "kept")),
                return_exceptions=True)
        finally:
            committer.stop()

    failed, kept = asyncio.run(submit())
    assert isinstance(failed, sa.exc.IntegrityError) and kept == "kept"
    with db.read() as conn:
        assert "kept" in tokens.account_tokens_list(conn)
        assert "same-token" not in tokens.account_tokens_list(conn)


def test_translated_leaves_other_errors_alone() -> None:
    other = ValueError("not the database")
    assert translated(other) is other
    refused = sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    outage = translated(refused)
    assert isinstance(outage, DatabaseUnavailable) and outage.__cause__ is refused
    dropped = sa.exc.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert is_unavailable(dropped)
    assert not is_unavailable(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate")))
