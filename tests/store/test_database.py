"""SQLite writers from several processes and threads queue on the writer lock instead of
failing with "database is locked" or sleeping in SQLite's busy handler."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest
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



def _posix_locks_held(path: Path) -> list[str]:
    """This process's POSIX locks on ``path``, as the kernel lists them (/proc/locks)."""
    marker, pid = f":{path.stat().st_ino} ", f" {os.getpid()} "
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if marker in line + " " and pid in line]


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_opening_another_database_keeps_this_process_s_locks(tmp_path: Path) -> None:
    """A second Database on the same file (another engine in the same process) must not
    open and close the file: closing any descriptor of it drops every POSIX lock the
    process holds there, so SQLite connections open elsewhere in the process lose theirs
    and another process may recover or checkpoint under them: the corruption of
    sqlite.org/howtocorrupt.html 2.2, seen here as "database disk image is malformed"
    when writers in threads and processes started under load."""
    path = tmp_path / "locks.db"
    db = Database(f"sqlite:///{path}", pool_size=1)
    migrate.upgrade(db)
    try:
        with db.write():
            held = _posix_locks_held(path)
            Database(f"sqlite:///{path}", pool_size=1).close()
            assert held and _posix_locks_held(path) == held
    finally:
        db.close()
