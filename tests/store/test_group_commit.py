"""Group commit: concurrent accepts share transactions, each item isolated in a savepoint,
and a failed commit fails every item in its batch (none was stored)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter
from postlane.store.schema import account_tokens, utcnow


def _insert(token: str) -> Any:
    def work(conn: Connection) -> str:
        conn.execute(account_tokens.insert().values(token=token, created_at=utcnow()))
        return token
    return work


def _tokens(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(sa.select(account_tokens.c.token)).scalars())


def _run(committer: GroupCommitter, works: list[Any]) -> list[Any]:
    async def main() -> list[Any]:
        return await asyncio.gather(*(committer.submit(w) for w in works),
                                    return_exceptions=True)
    committer.start()
    try:
        return asyncio.run(main())
    finally:
        committer.stop()


def test_concurrent_items_share_commits(db: Database) -> None:
    committer = GroupCommitter(db)
    results = _run(committer, [_insert(f"t{i}") for i in range(200)])
    assert results == [f"t{i}" for i in range(200)]
    assert _tokens(db) == {f"t{i}" for i in range(200)}
    assert committer.items == 200
    assert committer.batches < 200  # some commits carried several accepts


def test_a_failing_item_does_not_sink_its_batch(db: Database) -> None:
    def boom(conn: Connection) -> None:
        conn.execute(account_tokens.insert().values(token="half-done", created_at=utcnow()))
        raise ValueError("stream vanished")

    works = [_insert("a"), boom, _insert("a"), _insert("b")]  # the second "a" is a duplicate
    results = _run(GroupCommitter(db), works)
    assert results[0] == "a" and results[3] == "b"
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], sa.exc.IntegrityError)
    assert _tokens(db) == {"a", "b"}  # the failed items left nothing behind


def test_a_failed_commit_fails_everyone(db: Database) -> None:
    # A deferred foreign key is checked only at COMMIT (on both backends).
    with db.write() as conn:
        conn.execute(sa.text("CREATE TABLE gc_probe (token varchar(64) PRIMARY KEY REFERENCES "
                             "account_tokens (token) DEFERRABLE INITIALLY DEFERRED)"))
    try:
        def dangling(conn: Connection) -> str:
            conn.execute(sa.text("INSERT INTO gc_probe VALUES ('nobody')"))
            return "dangling"

        results = _run(GroupCommitter(db, max_batch=10), [_insert("x"), dangling])
        assert all(isinstance(r, sa.exc.IntegrityError) for r in results)
        assert "x" not in _tokens(db)
    finally:
        with db.write() as conn:
            conn.execute(sa.text("DROP TABLE gc_probe"))


def _insert_many(conn: Connection, tokens: list[str]) -> list[Any]:
    """Batched form: one executemany; a token named "bad" is that payload's own error."""
    good = [t for t in tokens if t != "bad"]
    conn.execute(account_tokens.insert(), [{"token": t, "created_at": utcnow()} for t in good])
    return [ValueError("bad token") if t == "bad" else t for t in tokens]


def _run_many(committer: GroupCommitter, tokens: list[str]) -> list[Any]:
    """Queue every item before the committer starts, so they form one batch."""
    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(committer.submit(_insert(t), many=_insert_many,
                                                        payload=t)) for t in tokens]
        await asyncio.sleep(0)
        committer.start()
        return await asyncio.gather(*tasks, return_exceptions=True)
    try:
        return asyncio.run(main())
    finally:
        committer.stop()


def test_batched_work_answers_each_item(db: Database) -> None:
    tokens = [f"m{i}" for i in range(100)] + ["bad"]
    committer = GroupCommitter(db)
    results = _run_many(committer, tokens)
    assert results[:100] == tokens[:100]
    assert isinstance(results[100], ValueError)
    assert _tokens(db) == set(tokens[:100])
    assert committer.batches == 1


def test_batched_work_that_fails_falls_back_to_one_by_one(db: Database) -> None:
    with db.write() as conn:  # "dup" exists: the executemany fails as a whole
        conn.execute(account_tokens.insert().values(token="dup", created_at=utcnow()))
    results = _run_many(GroupCommitter(db), ["p", "dup", "q"])
    assert results[0] == "p" and results[2] == "q"
    assert isinstance(results[1], sa.exc.IntegrityError)
    assert _tokens(db) == {"dup", "p", "q"}


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll the event loop's view of a condition (the committer runs on its own thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the committer"
        await asyncio.sleep(0.005)


def test_items_that_queue_while_another_writer_holds_the_lock_join_one_batch(
        db: Database) -> None:
    """The batch is gathered once the write lock is ours: contention from another
    writer (another SMTP process, on SQLite) makes batches larger, not commits more
    frequent. The first item waits on the lock; the rest arrive meanwhile."""
    if not db.is_sqlite:
        pytest.skip("PostgreSQL writers do not take one database-wide lock")
    committer = GroupCommitter(db)
    lock_taken, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with db.write():
            lock_taken.set()
            release.wait(10)

    async def main() -> list[Any]:
        first = asyncio.ensure_future(committer.submit(_insert("first")))
        await asyncio.sleep(0)  # let submit() queue it
        # The committer has taken "first" off its queue and waits for the lock.
        await _until(lambda: committer._queue.empty() and not first.done())
        rest = [asyncio.ensure_future(committer.submit(_insert(f"t{i}"))) for i in range(20)]
        await asyncio.sleep(0)
        await _until(lambda: committer._queue.qsize() == 20)
        release.set()
        return await asyncio.gather(first, *rest)

    holder = threading.Thread(target=other_writer)
    holder.start()
    assert lock_taken.wait(10)
    committer.start()
    try:
        results = asyncio.run(main())
    finally:
        committer.stop()
        holder.join()
    assert results == ["first"] + [f"t{i}" for i in range(20)]
    assert (committer.batches, committer.items) == (1, 21)


def test_the_first_submit_starts_the_committer_and_a_stopped_one_refuses(db: Database) -> None:
    """create_app's own committer is never started explicitly: the first send starts it.
    After stop, a submit is refused at once instead of waiting for a thread that is gone."""
    from postlane.domain.errors import DatabaseUnavailable

    committer = GroupCommitter(db)

    async def submit(token: str) -> str:
        result: str = await committer.submit(_insert(token))
        return result

    assert asyncio.run(submit("lazy-start")) == "lazy-start"
    assert "lazy-start" in _tokens(db)
    committer.stop()
    with pytest.raises(DatabaseUnavailable):
        asyncio.run(submit("after-stop"))
    assert "after-stop" not in _tokens(db)
