"""REST POST /email throughput with wrk (20 connections), against a real `postlane serve`
(api role: the REST front door and its group commit; SQLite, then PostgreSQL) and, in the
same run, against the anchor: a bare FastAPI endpoint in the same venv that parses the
same JSON and answers without storing (benchmarks/bare_app.py). Then /email/batch with
500 messages per call, in messages/s (a batch is one transaction).

The worker does not run during the timed load: its screening and Sandbox delivery of the
backlog are the pipeline's figures (bench_ingest, bench_latency), and a scaled-out
deployment runs it in processes of its own (--worker-processes, --roles worker)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import orjson

from benchmarks import wrk
from benchmarks.common import Row, Served, main, pg_database, serve

BATCH_SIZE = 500
TARGET_RATIO = 0.40
TARGET_P99_MS = 50.0

BODY = orjson.dumps({"From": "app@bench.example.com", "To": "user@bench.example.com",
                     "Subject": "REST benchmark", "MessageStream": "outbound",
                     "TextBody": "Hello from the REST benchmark. " * 20})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _bare() -> Iterator[str]:
    port = _free_port()
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.bare_app", str(port)])
    try:
        url = f"http://127.0.0.1:{port}/email"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url, content=BODY, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or child.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=10)


def _headers(served: Served) -> dict[str, str]:
    return {"X-Postmark-Server-Token": served.server_token, "Accept": "application/json"}


def _batches(served: Served, calls: int) -> tuple[float, int]:
    """Messages/s over ``calls`` batch calls, and how many messages were refused."""
    items = [{**orjson.loads(BODY), "To": f"user{i}@bench.example.com"}
             for i in range(BATCH_SIZE)]
    refused = 0
    with httpx.Client(base_url=served.api_url, headers=_headers(served), timeout=120) as api:
        began = time.perf_counter()
        for _ in range(calls):
            answer = api.post("/email/batch", json=items)
            answer.raise_for_status()
            refused += sum(item["ErrorCode"] != 0 for item in answer.json())
        elapsed = time.perf_counter() - began
    return calls * BATCH_SIZE / elapsed, refused


TEMPLATE_BODY = orjson.dumps({
    "From": "app@bench.example.com", "To": "user@bench.example.com", "MessageStream": "outbound",
    "TemplateAlias": "bench-receipt", "TemplateModel": {
        "name": "Ann", "company": "Bench Ltd",
        "lines": [{"item": f"item {i}", "price": i * 1.5} for i in range(5)]}})
TARGET_TEMPLATE_RATIO = 0.8


def _create_templates(served: Served) -> None:
    """A realistic Layout (styles, header, footer) and a receipt template that uses it."""
    layout = ("<html><head><style>body { font-family: sans-serif } td { padding: 4px }"
              "</style></head><body><header>{{company}}</header>{{{ @content }}}"
              "<footer>Sent by {{company}}</footer></body></html>")
    with httpx.Client(base_url=served.api_url, headers=_headers(served), timeout=30) as api:
        api.post("/templates", json={"Name": "Bench layout", "Alias": "bench-layout",
                                     "TemplateType": "Layout", "HtmlBody": layout,
                                     "TextBody": "{{{ @content }}}\n-- {{company}}"}
                 ).raise_for_status()
        api.post("/templates", json={
            "Name": "Receipt", "Alias": "bench-receipt", "LayoutTemplate": "bench-layout",
            "Subject": "Your receipt, {{name}}",
            "HtmlBody": "<p>Hello {{name}}</p><table>{{#each lines}}<tr><td>{{item}}</td>"
                        "<td>{{price}}</td></tr>{{/each}}</table>",
            "TextBody": "Hello {{name}}\n{{#each lines}}{{item}}: {{price}}\n{{/each}}"}
                 ).raise_for_status()


def _rows(label: str, load: wrk.Load, anchor: wrk.Load) -> list[Row]:
    ratio = load.rate / anchor.rate if anchor.rate else 0.0
    return [
        Row(f"REST /email {label}: throughput", load.rate, "req/s",
            note=f"{load.requests} requests in {load.seconds:.1f} s"),
        Row(f"REST /email {label}: vs bare endpoint", ratio, "x", f">= {TARGET_RATIO}",
            ratio >= TARGET_RATIO, note=f"anchor {anchor.rate:,.0f} req/s, same run"),
        Row(f"REST /email {label}: latency p50", load.p50_ms, "ms",
            note=f"anchor {anchor.p50_ms:.1f} ms"),
        Row(f"REST /email {label}: latency p99", load.p99_ms, "ms", f"< {TARGET_P99_MS:g} ms",
            load.p99_ms < TARGET_P99_MS, note=f"anchor {anchor.p99_ms:.1f} ms"),
        Row(f"REST /email {label}: errors", load.errors, "req", "0", load.errors == 0),
    ]


def run(quick: bool) -> list[Row]:
    if wrk.available() is None:
        return [Row("REST /email: skipped", 0, "-",
                    note="wrk not installed (bash scripts/ensure-wrk.sh)")]
    seconds, calls = (3.0, 2) if quick else (10.0, 6)
    with _bare() as url:
        anchor = wrk.run(url, BODY, {}, seconds)
    rows = [Row("bare FastAPI endpoint (anchor)", anchor.rate, "req/s",
                note=f"wrk {wrk.CONNECTIONS} connections, {seconds:g} s")]
    with serve(("api",)) as served:
        load = wrk.run(f"{served.api_url}/email", BODY, _headers(served), seconds)
        rate, refused = _batches(served, calls)
        _create_templates(served)
        templated = wrk.run(f"{served.api_url}/email/withTemplate", TEMPLATE_BODY,
                            _headers(served), seconds)
        rss = served.peak_rss_mib()
    rows += _rows("SQLite", load, anchor)
    ratio = templated.rate / load.rate if load.rate else 0.0
    rows += [Row("REST /email/withTemplate SQLite: throughput", templated.rate, "req/s",
                 note=f"layout + receipt, p99 {templated.p99_ms:.1f} ms, "
                      f"{templated.errors} errors"),
             Row("REST /email/withTemplate vs /email", ratio, "x",
                 f">= {TARGET_TEMPLATE_RATIO}", ratio >= TARGET_TEMPLATE_RATIO,
                 note=f"/email {load.rate:,.0f} req/s, same run")]
    rows += [Row(f"REST /email/batch SQLite ({BATCH_SIZE}/call)", rate, "msg/s",
                 note=f"{calls} calls, {refused} refused"),
             Row("REST SQLite: server peak RSS", rss, "MiB")]
    with pg_database() as url, serve(("api",), database_url=url) as served:
        load = wrk.run(f"{served.api_url}/email", BODY, _headers(served), seconds)
        rate, refused = _batches(served, calls)
    rows += _rows("PostgreSQL", load, anchor)
    rows.append(Row(f"REST /email/batch PostgreSQL ({BATCH_SIZE}/call)", rate, "msg/s",
                    note=f"{calls} calls, {refused} refused"))
    return rows


if __name__ == "__main__":
    main(run)
