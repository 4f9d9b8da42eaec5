"""Group commit: accepts from many concurrent SMTP sessions share one transaction, so one
fsync makes a whole batch durable. Each client still hears 250 only after the commit that
holds its message.

Work of one kind can also be done for the whole batch at once (a few executemany
statements instead of several statements per item): ``submit(..., many=...)``. If that
fails, the batch falls back to one SAVEPOINT per item, so an item that fails is answered
with its own error and does not take the rest down. If the commit itself fails, every
item in the batch gets that error: none of them was stored. An outage's driver error
reaches the submitter as DatabaseUnavailable (store.errors), like any other store call.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection

from postlane.domain.errors import DatabaseUnavailable
from postlane.store.database import Database
from postlane.store.errors import translated

log = logging.getLogger(__name__)
T = TypeVar("T")


#: Does one kind of work for many payloads; returns one result (or exception) per payload.
Many = Callable[[Connection, list[Any]], list[Any]]


@dataclass
class _Item(Generic[T]):
    work: Callable[[Connection], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop
    many: Many | None = None
    payload: Any = None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the client went away meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class GroupCommitter:
    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._lock = threading.Lock()
        self._stopped = False
        self.batches = 0
        self.items = 0

    def start(self) -> None:
        """Start the committing thread (once; submit also starts it when needed)."""
        with self._lock:
            if not self._thread.is_alive() and not self._stopped:
                self._thread.start()

    def stop(self) -> None:
        """Commit what is queued, then stop: later submits are refused (DatabaseUnavailable),
        never left waiting for a thread that is gone."""
        with self._lock:
            self._stopped = True
            running = self._thread.is_alive()
            if running:
                self._queue.put(None)
        if running:
            self._thread.join(timeout=30)

    async def submit(self, work: Callable[[Connection], T], many: Many | None = None,
                     payload: Any = None) -> T:
        """Run ``work`` inside the next group transaction; returns once it is committed.

        With ``many``, items sharing that function are done together as
        ``many(conn, [payload, ...])``; ``work`` is the one-at-a-time fallback.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:  # queued before stop's signal, or refused: never left waiting
            if self._stopped:
                raise DatabaseUnavailable("the server is shutting down; nothing was stored")
            if not self._thread.is_alive():
                self._thread.start()
            self._queue.put(_Item(work, future, loop, many, payload))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None or self._commit(first):
                return

    def _drain(self, batch: list[_Item[Any]]) -> bool:
        """Add what is queued to ``batch``; True when the stop signal was among it."""
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    def _commit(self, first: _Item[Any]) -> bool:
        """Commit one batch; True when the committer should stop afterwards."""
        batch = [first]
        stopping = False
        outcomes: list[tuple[_Item[Any], Any, BaseException | None]] = []
        try:
            with self.db.write() as conn:
                # Gathered once the write lock is ours: what arrived while another process
                # held it joins this batch, so contention makes batches larger, not commits
                # more frequent.
                stopping = self._drain(batch)
                groups: dict[Any, list[_Item[Any]]] = {}
                for item in batch:
                    groups.setdefault(item.many or id(item), []).append(item)
                for items in groups.values():
                    outcomes.extend(self._together(conn, items) or self._apart(conn, items))
        except Exception as exc:
            log.error("group commit of %d item(s) failed: %s", len(batch), exc)
            outcomes = [(item, None, exc) for item in batch]
        self.batches += 1
        self.items += len(batch)
        for item, result, error in outcomes:
            item.loop.call_soon_threadsafe(_settle, item.future, result, error)
        return stopping

    @staticmethod
    def _together(conn: Connection, items: list[_Item[Any]]) -> list[Any] | None:
        """All items in one statement per table; None when they must go one by one."""
        many = items[0].many
        if many is None or len(items) == 1:
            return None
        try:
            with conn.begin_nested():
                results = many(conn, [item.payload for item in items])
        except Exception as exc:
            log.info("batched work failed (%s); retrying item by item", exc)
            return None
        return [(item, None, translated(result)) if isinstance(result, BaseException) else
                (item, result, None) for item, result in zip(items, results, strict=True)]

    @staticmethod
    def _apart(conn: Connection, items: list[_Item[Any]]) -> list[Any]:
        outcomes: list[Any] = []
        for item in items:
            try:
                with conn.begin_nested():
                    outcomes.append((item, item.work(conn), None))
            except Exception as exc:
                outcomes.append((item, None, translated(exc)))
        return outcomes
