"""Suppression lookups against a big list, and bulk suppression imports.

Lookup: a suppressions table with millions of addresses (SQLite: 10M, quick 1M; PostgreSQL:
1M, quick 100k, when reachable), built fast by bulk load (build time is reported, not
targeted); then `postlane.store.suppressions.lookup` -- the function the pipeline's screen
step and REST sends call -- timed per call for random hits and misses on an open
connection of the real engine (SQLite: WAL and the app's pragmas; no ANALYZE, as the app
never runs one. PostgreSQL: ANALYZE after the load, as autovacuum would).

Import: addresses through `postlane.services.suppressions.suppress` (validation, then the
bulk insert), 10,000 per transaction, into a fresh database: 1M, quick 100k.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import Row, main, percentile, pg_database, pg_problem
from postlane.services.suppressions import suppress
from postlane.store import migrate, servers, suppressions
from postlane.store.database import Database, normalize_url

TARGET_P99_MS = 1.0
STREAM = "outbound"
BUILD_BATCH = 500_000  # rows per transaction while building
IMPORT_CHUNK = 10_000  # addresses per transaction while importing
CREATED_AT = "2026-01-01 00:00:00.000000"


def email(index: int) -> str:
    """The index-th suppressed address: unique, and spread over the key space so that
    neither building nor looking up walks the index in order."""
    return f"u{(index * 2654435761) % 2**32:08x}.{index}@example{index % 97}.com"


def miss(index: int) -> str:
    return f"nobody{index}@example{index % 97}.com"


def _rows(server_id: int, first: int, last: int) -> Iterator[tuple[object, ...]]:
    for i in range(first, last):
        yield server_id, STREAM, email(i), "ManualSuppression", "Customer", CREATED_AT


def _fresh(database_url: str) -> int:
    """Migrate ``database_url`` and create a server; returns its id."""
    db = Database(database_url, pool_size=1)
    try:
        migrate.upgrade(db)
        with db.write() as conn:
            return servers.create(conn, f"bench-{time.monotonic_ns()}")
    finally:
        db.close()


def build_sqlite(path: Path, count: int) -> tuple[int, float]:
    """A migrated SQLite database at ``path`` with ``count`` suppressions: (server, seconds)."""
    server_id = _fresh(f"sqlite:///{path}")
    began = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")  # no WAL growth while loading
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")  # ~1 GB: the unique index stays in memory
        for first in range(0, count, BUILD_BATCH):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO suppressions (server_id, stream, email, reason, origin, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                _rows(server_id, first, min(first + BUILD_BATCH, count)))
            conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")  # as the server runs it
    finally:
        conn.close()
    return server_id, time.perf_counter() - began


def build_pg(database_url: str, count: int) -> tuple[int, float]:
    """``count`` suppressions loaded with COPY, then ANALYZE: (server, seconds)."""
    server_id = _fresh(database_url)
    began = time.perf_counter()
    engine = sa.create_engine(normalize_url(database_url))
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        assert pg is not None
        with pg.cursor() as cur:
            with cur.copy("COPY suppressions (server_id, stream, email, reason, origin, "
                          "created_at) FROM STDIN") as copy:
                for row in _rows(server_id, 0, count):
                    copy.write_row(row)
            cur.execute("ANALYZE suppressions")
        pg.commit()
    finally:
        raw.close()
        engine.dispose()
    return server_id, time.perf_counter() - began


def _time_lookups(database_url: str, server_id: int, emails: list[str],
                  expect_hit: bool) -> list[float]:
    """Milliseconds per `lookup` of one address, on one open connection (after a warm-up)."""
    db = Database(database_url, pool_size=1)
    timings: list[float] = []
    try:
        with db.read() as conn:
            for address in emails[:100]:
                suppressions.lookup(conn, server_id, STREAM, [address])
            for address in emails:
                began = time.perf_counter()
                found = suppressions.lookup(conn, server_id, STREAM, [address])
                timings.append((time.perf_counter() - began) * 1000)
                if (address in found) != expect_hit:
                    raise AssertionError(f"lookup({address}) gave {found}")
    finally:
        db.close()
    return timings


def lookup_rows(label: str, database_url: str, build: Callable[[], tuple[int, float]],
                size: int, samples: int) -> list[Row]:
    server_id, seconds = build()
    rng = random.Random(size)
    hits = [email(i) for i in rng.sample(range(size), samples)]
    misses = [miss(i) for i in rng.sample(range(size), samples)]
    hit_ms = _time_lookups(database_url, server_id, hits, True)
    miss_ms = _time_lookups(database_url, server_id, misses, False)
    rows = [Row(f"suppressions {label}: build {size:,} rows", size / seconds, "rows/s",
                note=f"{seconds:.1f} s")]
    for kind, timings in (("hit", hit_ms), ("miss", miss_ms)):
        p99 = percentile(timings, 99)
        rows += [
            Row(f"suppressions {label}: lookup {kind} p50", percentile(timings, 50), "ms",
                note=f"{len(timings)} random lookups in {size:,}"),
            Row(f"suppressions {label}: lookup {kind} p99", p99, "ms",
                f"< {TARGET_P99_MS:g} ms", p99 < TARGET_P99_MS),
        ]
    return rows


def import_rows(label: str, database_url: str, count: int) -> list[Row]:
    """Import ``count`` addresses through the suppress service, IMPORT_CHUNK per commit."""
    server_id = _fresh(database_url)
    db = Database(database_url, pool_size=1)
    try:
        began = time.perf_counter()
        for first in range(0, count, IMPORT_CHUNK):
            chunk = [email(i) for i in range(first, min(first + IMPORT_CHUNK, count))]
            with db.write() as conn:
                results = suppress(conn, server_id, STREAM, chunk)
            if any(r["Status"] != "Suppressed" for r in results):
                raise AssertionError("an address was not suppressed")
        seconds = time.perf_counter() - began
        with db.read() as conn:
            stored = suppressions.count(conn, server_id)
    finally:
        db.close()
    if stored != count:
        raise AssertionError(f"imported {count}, stored {stored}")
    return [Row(f"suppressions {label}: import {count:,} via suppress()", count / seconds,
                "addr/s", note=f"{seconds:.1f} s, {IMPORT_CHUNK:,} per transaction")]


def run(quick: bool) -> list[Row]:
    sqlite_size = 1_000_000 if quick else 10_000_000
    pg_size = 100_000 if quick else 1_000_000
    import_count = 100_000 if quick else 1_000_000
    samples = 1_000 if quick else 5_000
    rows: list[Row] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="postlane-bench-")))
        path = tmp / "lookup.db"
        url = f"sqlite:///{path}"
        rows += lookup_rows("SQLite", url, lambda: build_sqlite(path, sqlite_size),
                            sqlite_size, samples)
        path.unlink()
        rows += import_rows("SQLite", f"sqlite:///{tmp / 'import.db'}", import_count)
    problem = pg_problem()
    if problem is not None:
        rows.append(Row("suppressions PostgreSQL", float("nan"), "", note=f"skipped: {problem}"))
        return rows
    with pg_database() as pg_url:
        rows += lookup_rows("PostgreSQL", pg_url, lambda: build_pg(pg_url, pg_size),
                            pg_size, samples)
    with pg_database() as pg_url:
        rows += import_rows("PostgreSQL", pg_url, import_count)
    return rows


if __name__ == "__main__":
    main(run)
