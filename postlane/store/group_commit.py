"""Group commit: accepts from many concurrent SMTP sessions share one transaction, so one
fsync makes a whole batch durable. Each client still hears 250 only after the commit that
holds its message.

Each item runs in its own SAVEPOINT: an item that fails (say, its stream vanished) is
answered with its own error and does not take the rest of the batch down. If the commit
itself fails, every item in the batch gets that error: none of them was stored.
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

from postlane.store.database import Database

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class _Item(Generic[T]):
    work: Callable[[Connection], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


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
        self.batches = 0
        self.items = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)

    async def submit(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` inside the next group transaction; returns once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Item(work, future, loop))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch: list[_Item[Any]] = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Item[Any]]) -> None:
        outcomes: list[tuple[_Item[Any], Any, BaseException | None]] = []
        try:
            with self.db.write() as conn:
                for item in batch:
                    try:
                        with conn.begin_nested():
                            outcomes.append((item, item.work(conn), None))
                    except Exception as exc:
                        outcomes.append((item, None, exc))
        except Exception as exc:
            log.error("group commit of %d item(s) failed: %s", len(batch), exc)
            outcomes = [(item, None, exc) for item in batch]
        self.batches += 1
        self.items += len(batch)
        for item, result, error in outcomes:
            item.loop.call_soon_threadsafe(_settle, item.future, result, error)
