"""Shared pieces of the benchmarks: the result row, a real `postlane serve` child process,
peak RSS, percentiles, a fast webhook receiver, and a throwaway PostgreSQL database.

Everything runs on loopback, is bounded in count and time, and stops what it starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from postlane import testing
from postlane.testing import ServeProcess

PG_ADMIN_URL = os.environ.get("POSTLANE_TEST_PG_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass
class Row:
    """One figure. ``target`` like "< 100 ms" (None: reported only); ``met`` None then."""

    name: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None
    note: str = ""

    def format(self) -> str:
        verdict = "" if self.met is None else ("  ok" if self.met else "  MISSED")
        target = f"  (target {self.target})" if self.target else ""
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.name:<48} {self.value:>12,.2f} {self.unit:<8}{target}{verdict}{note}"


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100), interpolating between closest ranks; nan if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MiB; nan once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else math.nan


def children(pid: int) -> list[int]:
    """Direct child processes (e.g. forked SMTP acceptors, --smtp-processes)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    return found


class Served(ServeProcess):
    """A `postlane serve` child, with the memory figure the benchmarks report."""

    def peak_rss_mib(self) -> float:
        """The server's peak RSS, plus its child processes' (each one's own peak)."""
        return peak_rss_mib(self.pid) + sum(peak_rss_mib(c) for c in children(self.pid))


def start(data_dir: Path, roles: Sequence[str], env: dict[str, str] | None = None,
          database_url: str | None = None) -> Served:
    """Start `postlane serve` (ports 0, quiet logs) and wait for its "Ready." line."""
    return testing.start(data_dir, kind=Served, roles=roles, database_url=database_url,
                         env=env, log_level="WARNING", timeout=READY_TIMEOUT)


@contextlib.contextmanager
def serve(roles: Sequence[str] = ("smtp", "api", "worker"), env: dict[str, str] | None = None,
          data_dir: Path | None = None, database_url: str | None = None) -> Iterator[Served]:
    """A `postlane serve` child on its own temporary data dir (or ``data_dir``), stopped
    (and the temporary dir removed) on exit."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(
                prefix="postlane-bench-"))) / "data"
        served = start(data_dir, roles, env, database_url)
        stack.callback(served.stop)
        yield served


# -- configuring a served instance through its API -------------------------------------

def enable_bounce_webhook(served: Served, url: str) -> None:
    """EnableSmtpApiErrorHooks on the Default server, and a Bounce webhook on `outbound`."""
    with served.api(account=True) as account:
        r = account.put(f"/servers/{served.server_id}", json={"EnableSmtpApiErrorHooks": True})
        r.raise_for_status()
    with served.api() as api:
        r = api.post("/webhooks", json={"Url": url, "MessageStream": "outbound",
                                        "Triggers": {"Bounce": {"Enabled": True}}})
        r.raise_for_status()


def suppress(served: Served, emails: Sequence[str]) -> None:
    """Suppress on `outbound` through the API, 50 a request (the API's limit)."""
    with served.api() as api:
        for start_at in range(0, len(emails), 50):
            chunk = emails[start_at:start_at + 50]
            r = api.post("/message-streams/outbound/suppressions",
                         json={"Suppressions": [{"EmailAddress": e} for e in chunk]})
            r.raise_for_status()
            statuses = {s["Status"] for s in r.json()["Suppressions"]}
            if statuses != {"Suppressed"}:
                raise RuntimeError(f"suppressing failed: {r.text}")


# -- a fast webhook receiver ------------------------------------------------------------

class HookReceiver:
    """A minimal HTTP/1.1 keep-alive server on the running asyncio loop: answers every POST
    with 200 at once and records (time.perf_counter(), body). Fast enough never to be the
    bottleneck of what it measures."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._waiting: tuple[int, asyncio.Event] | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    async def start(self) -> HookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=512)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def wait_for(self, count: int, timeout: float) -> bool:
        """Until ``count`` bodies have arrived, or ``timeout`` seconds; True if they did."""
        if len(self.arrivals) >= count:
            return True
        event = asyncio.Event()
        self._waiting = (count, event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
                body = await reader.readexactly(int(match.group(1))) if match else b""
                self.arrivals.append((time.perf_counter(), body))
                if self._waiting is not None and len(self.arrivals) >= self._waiting[0]:
                    self._waiting[1].set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


# -- a throwaway PostgreSQL database ------------------------------------------------------

def pg_problem() -> str | None:
    """None when PostgreSQL answers at POSTLANE_TEST_PG_URL (or the local default)."""
    return testing.pg_problem(PG_ADMIN_URL)


def pg_database() -> contextlib.AbstractContextManager[str]:
    """A fresh, migrated PostgreSQL database, dropped on exit."""
    return testing.fresh_pg_database(PG_ADMIN_URL, "postlane_bench")


# -- running one module by hand -------------------------------------------------------------

def main(run: Callable[[bool], list[Row]], argv: Sequence[str] | None = None) -> None:
    """``python -m benchmarks.bench_x [--quick]``: run one module and print its rows."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller, shorter runs")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = run(args.quick)
    for row in rows:
        print(row.format())
    print(f"({time.perf_counter() - started:.1f} s)")
