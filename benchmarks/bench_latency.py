"""The seed path end to end: SMTP 250 to the SMTP API Error bounce webhook, at a steady
offered rate.

A real `postlane serve` (smtp, api, worker; SQLite) with EnableSmtpApiErrorHooks and a
Bounce webhook pointing at a fast receiver in this process; every recipient is suppressed.
Senders on persistent aiosmtplib connections pace messages to RATE a second. Latency per
message = when its webhook (matched by MessageID) arrived - when its 250 arrived.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from dataclasses import dataclass, field

import aiosmtplib

from benchmarks.common import (
    HookReceiver,
    Row,
    Served,
    enable_bounce_webhook,
    main,
    percentile,
    serve,
    suppress,
)

RATE = 200.0  # messages a second, offered
CONNECTIONS = 10
TARGET_P99_MS = 100.0
DRAIN_SECONDS = 30.0  # how long to wait for the last webhooks after sending stops
SENDER = "app@bench.example.com"
SUPPRESSED = [f"gone{i}@bench.example.com" for i in range(50)]
BODY = ("This is a benchmark message. " * 30 + "\r\n") * 2


@dataclass
class Sent:
    started: float = 0.0
    finished: float = 0.0
    accepted: dict[str, float] = field(default_factory=dict)  # MessageID -> 250 time
    accept_ms: list[float] = field(default_factory=list)  # DATA sent -> 250
    errors: int = 0


def _message(index: int, rcpt: str) -> bytes:
    return (f"From: Bench <{SENDER}>\r\nTo: {rcpt}\r\nSubject: Latency {index}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{BODY}").encode()


async def _send(served: Served, duration: float) -> Sent:
    total = int(RATE * duration)
    sent = Sent(started=time.perf_counter() + 0.2)
    indexes = iter(range(total))  # shared: a free connection takes the next message

    async def sender() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=served.smtp_port, start_tls=False,
                               timeout=30)
        await smtp.connect()
        await smtp.login(served.server_token, served.server_token)
        try:
            for index in indexes:
                delay = sent.started + index / RATE - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                rcpt = SUPPRESSED[index % len(SUPPRESSED)]
                began = time.perf_counter()
                try:
                    _, reply = await smtp.sendmail(SENDER, [rcpt], _message(index, rcpt))
                except aiosmtplib.SMTPException:
                    sent.errors += 1
                    continue
                now = time.perf_counter()
                sent.accepted[reply.rsplit(" ", 1)[-1]] = now
                sent.accept_ms.append((now - began) * 1000)
                sent.finished = max(sent.finished, now)
        finally:
            try:
                await smtp.quit()
            except aiosmtplib.SMTPException:
                smtp.close()

    await asyncio.gather(*(sender() for _ in range(CONNECTIONS)))
    return sent


def _latencies(sent: Sent, receiver: HookReceiver) -> list[float]:
    arrived: dict[str, float] = {}
    for at, body in receiver.arrivals:
        message_id = json.loads(body).get("MessageID")
        arrived.setdefault(message_id, at)
    return [(arrived[mid] - at) * 1000 for mid, at in sent.accepted.items() if mid in arrived]


async def _run(duration: float) -> list[Row]:
    receiver = await HookReceiver().start()
    try:
        # The worker in a process of its own (--worker-processes 1) so that both cores
        # work; POSTLANE_WORKER_PROCESSES=0 measures the single-process default.
        processes = os.environ.get("POSTLANE_WORKER_PROCESSES", "1")
        with serve(("smtp", "api", "worker"),
                   env={"POSTLANE_WORKER_PROCESSES": processes}) as served:
            await asyncio.to_thread(enable_bounce_webhook, served, receiver.url)
            await asyncio.to_thread(suppress, served, SUPPRESSED)
            sent = await _send(served, duration)
            await receiver.wait_for(len(sent.accepted), DRAIN_SECONDS)
            rss = served.peak_rss_mib()
    finally:
        await receiver.stop()
    latencies = _latencies(sent, receiver)
    rate = len(sent.accepted) / max(sent.finished - sent.started, 1e-9)
    last_hook = receiver.arrivals[-1][0] if receiver.arrivals else math.nan
    hook_rate = len(receiver.arrivals) / max(last_hook - sent.started, 1e-9)
    p99 = percentile(latencies, 99)
    missing = len(sent.accepted) - len(latencies)
    setup = (f"{len(sent.accepted)} msgs over {CONNECTIONS} SMTP connections, "
             f"offered {RATE:.0f} msg/s for {duration:.0f} s")
    return [
        Row("seed path: SMTP 250 -> bounce webhook, p50", percentile(latencies, 50), "ms",
            note=setup),
        Row("seed path: SMTP 250 -> bounce webhook, p99", p99, "ms",
            f"< {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS),
        Row("seed path: achieved accept rate", rate, "msg/s", f">= {RATE * 0.98:.0f} msg/s",
            rate >= RATE * 0.98, note=f"{sent.errors} SMTP errors"),
        Row("seed path: SMTP DATA -> 250, p99", percentile(sent.accept_ms, 99), "ms"),
        Row("seed path: bounce webhooks delivered rate", hook_rate, "posts/s",
            note="below the accept rate: a backlog grew, latency grew with the run"
            if hook_rate < 0.95 * rate else ""),
        Row("seed path: webhooks missing", missing, "msgs", "0", missing == 0,
            note=f"waited up to {DRAIN_SECONDS:.0f} s after the last 250"),
        Row("seed path: server peak RSS", rss, "MiB"),
    ]


def run(quick: bool) -> list[Row]:
    return asyncio.run(_run(5.0 if quick else 20.0))


if __name__ == "__main__":
    main(run)
