"""SQLite writers from several processes and threads queue on the writer lock instead of
failing with "database is locked" or sleeping in SQLite's busy handler."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import sqlalchemy as sa

from postlane.store import migrate
from postlane.store.database import Database
from postlane.store.schema import account_tokens, utcnow

ROWS = 150


def _writer(url: str, prefix: str) -> None:
    db = Database(url, pool_size=2)
    try:
        for i in range(ROWS):
            with db.write() as conn:
                conn.execute(account_tokens.insert().values(token=f"{prefix}-{i}",
                                                            created_at=utcnow()))
    finally:
        db.close()


def test_writers_in_processes_and_threads_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = Database(url, pool_size=4)
    migrate.upgrade(db)
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_writer, args=(url, f"p{n}")) for n in range(3)]
    threads = [threading.Thread(target=_writer, args=(url, f"t{n}")) for n in range(2)]
    for worker in (*procs, *threads):
        worker.start()
    for thread in threads:
        thread.join(timeout=120)
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    with db.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(account_tokens)).scalar()
    db.close()
    assert count == 5 * ROWS
