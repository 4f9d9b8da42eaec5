"""Webhook delivery throughput: how fast the worker POSTs a backlog of bounce webhooks.

A `postlane serve --roles api` bootstraps a SQLite data dir and gets a Bounce webhook
pointing at a fast receiver in this process. Then N bounce notifications are queued with
the pipeline's own `notify.enqueue` in one write transaction on that database, and a
`postlane serve --roles worker` on the same data dir drains them. Measured: from the
worker's start (its "Ready." line, or the first POST if that came sooner) until the
receiver has all N.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.common import HookReceiver, Row, main, serve, start
from postlane.domain import payloads
from postlane.domain.records import Bounce
from postlane.domain.types import WebhookTrigger
from postlane.pipeline import notify
from postlane.store import servers
from postlane.store.database import Database
from postlane.store.schema import utcnow

DRAIN_TIMEOUT = 120.0


def _bounce(index: int, server_id: int) -> Bounce:
    """A stored bounce, as the screen step makes for an SMTP API Error."""
    return Bounce(
        id=index + 1, bounce_type="InternalError", type_code=4003,
        name="SMTP API Error", tag="bench", message_id=str(uuid.uuid4()),
        server_id=server_id, stream="outbound", recipient_id=None,
        description="Recipient is on the suppression list",
        details="Suppressed: ManualSuppression", email=f"gone{index}@bench.example.com",
        from_field="app@bench.example.com", bounced_at=utcnow(), dump_available=False,
        inactive=True, can_activate=True, subject=f"Webhook {index}",
        metadata={}, content=None,
    )


def _enqueue(database_url: str, server_id: int, count: int) -> float:
    """Queue ``count`` bounce webhooks; returns the seconds it took."""
    db = Database(database_url, pool_size=1)
    began = time.perf_counter()
    try:
        with db.write() as conn:
            server = servers.get(conn, server_id)
            assert server is not None
            for index in range(count):
                bounce = _bounce(index, server_id)
                queued = notify.enqueue(conn, server, "outbound", WebhookTrigger.BOUNCE,
                                        "Bounce", functools.partial(payloads.bounce, bounce))
                assert queued == 1, "expected exactly the one Bounce webhook"
    finally:
        db.close()
    return time.perf_counter() - began


async def _run(count: int) -> list[Row]:
    receiver = await HookReceiver().start()
    try:
        with tempfile.TemporaryDirectory(prefix="postlane-bench-") as tmp:
            data_dir = Path(tmp) / "data"
            with serve(("api",), data_dir=data_dir) as setup:
                with setup.api() as api:
                    api.post("/webhooks", json={
                        "Url": receiver.url, "MessageStream": "outbound",
                        "Triggers": {"Bounce": {"Enabled": True}}}).raise_for_status()
                server_id, database_url = setup.server_id, setup.database_url
            enqueue_seconds = await asyncio.to_thread(_enqueue, database_url, server_id, count)
            # Started off the loop: the receiver must answer while the worker starts up.
            # A worker-only process refuses loopback receivers unless told.
            worker = await asyncio.to_thread(start, data_dir, ("worker",),
                                             {"POSTLANE_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"})
            try:
                done = await receiver.wait_for(count, DRAIN_TIMEOUT)
                rss = worker.peak_rss_mib()
            finally:
                await asyncio.to_thread(worker.stop)
    finally:
        await receiver.stop()
    arrivals = [at for at, _ in receiver.arrivals]
    began = min(worker.ready_at, *arrivals[:1])
    elapsed = (arrivals[-1] - began) if arrivals else float("nan")
    received = len(arrivals)
    return [
        Row("webhooks: bounce POSTs delivered", received / elapsed, "posts/s",
            note=f"{received}/{count} in {elapsed:.2f} s, worker_concurrency default"
                 + ("" if done else f"; gave up after {DRAIN_TIMEOUT:.0f} s")),
        Row("webhooks: queueing the backlog (notify.enqueue)", count / enqueue_seconds,
            "jobs/s", note="one transaction, SQLite"),
        Row("webhooks: worker peak RSS", rss, "MiB"),
    ]


def run(quick: bool) -> list[Row]:
    return asyncio.run(_run(1000 if quick else 5000))


if __name__ == "__main__":
    main(run)
