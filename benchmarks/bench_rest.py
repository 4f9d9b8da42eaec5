"""REST POST /email throughput: CONCURRENCY httpx clients for a fixed time against a real
`postlane serve` (api and worker roles, SQLite) whose Default server is in Sandbox mode,
so the worker delivers every accepted message to the Sandbox while requests keep coming."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from benchmarks.common import Row, Served, main, percentile, serve

CONCURRENCY = 20


@dataclass
class Load:
    started: float = 0.0
    finished: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    first_error: str = ""


def _body(index: int) -> dict[str, str]:
    return {"From": "app@bench.example.com", "To": f"user{index}@bench.example.com",
            "Subject": f"REST {index}", "TextBody": "Hello from the REST benchmark. " * 20,
            "MessageStream": "outbound"}


async def _load(served: Served, duration: float) -> Load:
    load = Load()
    counter = iter(range(10**9))
    headers = {"X-Postmark-Server-Token": served.server_token, "Accept": "application/json"}
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=served.api_url, headers=headers, limits=limits,
                                 timeout=30) as client:
        load.started = time.perf_counter()
        deadline = load.started + duration

        async def worker() -> None:
            while time.perf_counter() < deadline:
                index = next(counter)
                began = time.perf_counter()
                try:
                    response = await client.post("/email", json=_body(index))
                    failed = response.status_code != 200 or response.json()["ErrorCode"] != 0
                    problem = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    failed, problem = True, f"{type(exc).__name__}: {exc}"
                load.latencies_ms.append((time.perf_counter() - began) * 1000)
                if failed:
                    load.errors += 1
                    load.first_error = load.first_error or problem
                else:
                    load.ok += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        load.finished = time.perf_counter()
    return load


async def _run(duration: float) -> list[Row]:
    with serve(("api", "worker")) as served:
        load = await _load(served, duration)
        rss = served.peak_rss_mib()
    elapsed = load.finished - load.started
    setup = f"{load.ok + load.errors} requests, concurrency {CONCURRENCY}, {elapsed:.1f} s"
    return [
        Row("REST POST /email: throughput", load.ok / elapsed, "req/s", note=setup),
        Row("REST POST /email: latency p50", percentile(load.latencies_ms, 50), "ms"),
        Row("REST POST /email: latency p99", percentile(load.latencies_ms, 99), "ms"),
        Row("REST POST /email: errors", load.errors, "req", "0", load.errors == 0,
            note=load.first_error),
        Row("REST POST /email: server peak RSS", rss, "MiB"),
    ]


def run(quick: bool) -> list[Row]:
    return asyncio.run(_run(3.0 if quick else 10.0))


if __name__ == "__main__":
    main(run)
