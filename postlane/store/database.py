"""Engine setup and transaction helpers for SQLite (embedded default) and PostgreSQL.

Writers on SQLite take the lock up front (BEGIN IMMEDIATE): a deferred transaction that
upgrades from read to write can fail at once with "database is locked" under
concurrency, which would surface as a spurious 4xx to SMTP clients.

Every way in (read, write, run) translates an outage's driver error into
DatabaseUnavailable (store.errors), and callers name the transaction they are handed
:data:`Transaction`: nothing above the store imports the driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from postlane.store.errors import is_conflict, translating

#: The transaction store functions take: what Database.read() and write() yield, and
#: what the group committer hands to each piece of work.
Transaction: TypeAlias = Connection

P = ParamSpec("P")
T = TypeVar("T")

_WRITE = "postlane_write"


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick our drivers."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we answer 250 (NORMAL is not, in WAL mode).
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_private_file(path: Path) -> None:
    """Create the SQLite database file (and its directory) before SQLite does: the
    directory 0700 and the file 0600, as they hold every token and message. SQLite gives
    the -wal and -shm files the database file's mode, so they are 0600 too. Existing
    files and directories keep the mode their owner gave them. A path that cannot be
    made is left to SQLite, whose error on connecting is an outage like any other."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            # Never open (and close) a database file that may be in use: closing any
            # descriptor of a file drops every POSIX lock this process holds on it, so
            # SQLite connections open elsewhere in the process would lose theirs and
            # corrupt the database (sqlite.org/howtocorrupt.html, 2.2).
            return
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # FileExistsError included: another thread or process made it
        return


def create_engine(url: str, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:" and not path.startswith("file:"):
            create_private_file(Path(path))
        engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                  connect_args={"timeout": 15})
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                            pool_pre_ping=True)


class WriterQueue:
    """Serialises SQLite writers across threads and processes.

    SQLite's busy handler sleeps in growing steps (1, 2, 5, 10 ms ...) while another
    writer holds the lock, which wastes most of the time under contention. Writers wait
    here instead: a thread lock, then an exclusive flock on a file beside the database,
    which wakes the next writer as soon as the lock is released (and is released by the
    kernel if a process dies).
    """

    def __init__(self, database_path: str) -> None:
        self._path = f"{database_path}.writer-lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = -1

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


class Database:
    """One engine plus a thread pool, so async front doors never block on SQL."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.engine = create_engine(self.url, pool_size=pool_size)
        self._executor = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="db")
        path = self.engine.url.database if self.is_sqlite else None
        self._writers = WriterQueue(path) if path and path != ":memory:" else None

    @property
    def backend(self) -> str:
        """"sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        """A read transaction that sees one snapshot: a page that reads a message's
        recipients and then its events must not see a worker's commit between the two
        (SQLite's WAL read transactions are snapshots already; PostgreSQL's default READ
        COMMITTED takes a new one per statement)."""
        with translating(), self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        """A write transaction: committed on clean exit, rolled back on error."""
        with translating(), self._writer_turn(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def write_retrying(self, work: Callable[[Transaction], T], attempts: int = 5) -> T:
        """``work`` in a write transaction, run again when the database aborted it for a
        conflict with another transaction (a deadlock): for rare writes that take locks
        in another order than the pipeline does, such as deleting a whole server."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write() as conn:
                    return work(conn)
            except Exception as error:
                if attempt == attempts or not is_conflict(error):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self) -> None:
        """Return when the database answers a trivial query; DatabaseUnavailable if not."""
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    def _writer_turn(self) -> contextlib.AbstractContextManager[None]:
        return self._writers.hold() if self._writers is not None else contextlib.nullcontext()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking database work on the pool, off the event loop."""
        loop = asyncio.get_running_loop()
        with translating():
            return await loop.run_in_executor(self._executor,
                                              functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
