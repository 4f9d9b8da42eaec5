"""kill -9 of a real `postlane serve` in the middle of SMTP load, on both backends.

Client threads send as fast as they can and keep every MessageID that got a 250. The
server is SIGKILLed mid-load and started again on the same database. Then: no 250'd
message is lost, every recipient was screened exactly once (one terminal state, one
event, at most one bounce), and the Bounce webhooks reached a real receiver once per
bounce; a repeat is allowed only for a notify job that was in flight at the kill.
"""

from __future__ import annotations

import random
import smtplib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from postlane.config import Settings
from postlane.store.database import Database
from postlane.store.schema import bounces, jobs, message_events, messages, recipients
from postlane.store.schema import webhook_deliveries as deliveries
from tests.support.harness import WebhookReceiver, make_message, wait_until
from tests.support.serve_process import ServeProcess, serve

ADDRESSES = [f"user{i}@example.com" for i in range(30)]
SUPPRESSED = set(ADDRESSES[::3])  # a third of them
CLIENTS = 4
LEASE_SECONDS = 2  # a killed worker's leases come back quickly after the restart
ENV = {"POSTLANE_RETRY_SCALE": "0.001", "POSTLANE_WORKER_POLL_SECONDS": "0.05",
       "POSTLANE_WORKER_LEASE_SECONDS": str(LEASE_SECONDS), "POSTLANE_DB_POOL_SIZE": "8"}


@dataclass
class Load:
    """SMTP clients sending until stopped or the server goes away."""

    port: int
    token: str
    accepted: dict[str, list[str]] = field(default_factory=dict)  # MessageID -> rcpts
    errors: list[str] = field(default_factory=list)  # anything but a 250 before the kill
    killed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, seed: int) -> None:
        rng = random.Random(seed)
        deadline = time.monotonic() + 40
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
                smtp.login(self.token, self.token)
                n = 0
                while not self.killed.is_set() and time.monotonic() < deadline:
                    rcpts = rng.sample(ADDRESSES, rng.randint(1, 3))
                    msg = make_message(", ".join(rcpts), subject=f"load {seed}-{n}")
                    smtp.mail("sender@example.com")
                    for rcpt in rcpts:
                        smtp.rcpt(rcpt)
                    code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(
                        linesep="\r\n")))
                    with self.lock:
                        if code == 250:
                            self.accepted[reply.decode().rsplit(" ", 1)[-1]] = rcpts
                        elif not self.killed.is_set():
                            self.errors.append(f"{code} {reply!r}")
                    n += 1
        except (OSError, smtplib.SMTPException) as exc:
            # After the kill, what was in flight got no reply: it may or may not be stored.
            if not self.killed.is_set():
                with self.lock:
                    self.errors.append(f"client {seed}: {type(exc).__name__}: {exc}")

    def progress(self) -> bool:
        with self.lock:
            return len(self.accepted) >= 150 or bool(self.errors)


def _arm(server: ServeProcess, receiver: WebhookReceiver) -> None:
    with server.api() as api:
        assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
        r = api.post("/message-streams/outbound/suppressions",
                     json={"Suppressions": [{"EmailAddress": a} for a in sorted(SUPPRESSED)]})
        assert [s["Status"] for s in r.json()["Suppressions"]] == ["Suppressed"] * len(SUPPRESSED)
        r = api.post("/webhooks", json={"Url": receiver.url, "MessageStream": "outbound",
                                        "Triggers": {"Bounce": {"Enabled": True}}})
        assert r.status_code == 200, r.text


def _settled(db: Database) -> bool:
    """Every recipient terminal, every notify job finished."""
    with db.read() as conn:
        queued = conn.execute(sa.select(sa.func.count()).select_from(recipients)
                              .where(recipients.c.status == "Queued")).scalar_one()
        open_jobs = conn.execute(sa.select(sa.func.count()).select_from(jobs)
                                 .where(jobs.c.state == "queued")).scalar_one()
    return queued == 0 and open_jobs == 0


def _check_screened_once(db: Database, accepted: dict[str, list[str]]) -> set[int]:
    """Returns the bounce IDs after checking every stored recipient's single fate."""
    with db.read() as conn:
        stored = set(conn.execute(sa.select(messages.c.id)).scalars())
        rows = conn.execute(sa.select(recipients.c.message_id, recipients.c.email,
                                      recipients.c.address, recipients.c.status)).all()
        bounce_rows = conn.execute(sa.select(bounces.c.id, bounces.c.message_id,
                                             bounces.c.email)).all()
        events = Counter(tuple(r) for r in conn.execute(sa.select(
            message_events.c.message_id, message_events.c.recipient,
            message_events.c.event_type)).all())
        screen_jobs = Counter(conn.execute(sa.select(jobs.c.ref).where(
            jobs.c.kind == "screen", jobs.c.state == "done")).scalars())
        deliver_jobs = Counter(conn.execute(sa.select(jobs.c.ref).where(
            jobs.c.kind == "deliver")).scalars())
        failed = conn.execute(sa.select(jobs.c.kind, jobs.c.last_error)
                              .where(jobs.c.state == "failed")).all()

    missing = set(accepted) - stored
    assert not missing, f"{len(missing)} messages that got a 250 are gone: {sorted(missing)[:5]}"
    assert not failed, failed[:5]
    for message_id, rcpts in accepted.items():
        got = sorted(r.email for r in rows if r.message_id == message_id)
        assert got == sorted(rcpts), message_id
    for row in rows:  # also the messages stored without a reply before the kill
        suppressed = row.email in SUPPRESSED
        assert row.status == ("Suppressed" if suppressed else "Sent"), row
        expected = {(row.message_id, row.address, "Bounced" if suppressed else "Delivered"): 1}
        seen = {k: n for k, n in events.items() if k[:2] == (row.message_id, row.address)
                and k[2] != "Received"}
        assert seen == expected, (row, seen)
    assert Counter((b.message_id, b.email) for b in bounce_rows) == Counter(
        (r.message_id, r.email) for r in rows if r.email in SUPPRESSED)
    assert screen_jobs == Counter(stored)  # one screen job per message, done
    assert all(n == 1 for n in deliver_jobs.values())
    return {b.id for b in bounce_rows}


def _check_webhooks(db: Database, receiver: WebhookReceiver, bounce_ids: set[int]) -> None:
    def whole() -> list[dict[str, Any]]:
        # A POST cut short by the kill arrives as a truncated, unparsable body: it was not
        # delivered (a real receiver would reject it), and its job ran again.
        return [b for b in receiver.bodies() if isinstance(b, dict)]

    def all_in() -> bool:
        return {b["ID"] for b in whole()} >= bounce_ids
    wait_until(all_in, timeout=30, message="a webhook for every bounce")
    received = Counter(b["ID"] for b in whole())
    torn = len(receiver.bodies()) - sum(received.values())
    assert set(received) == bounce_ids
    with db.read() as conn:
        rows = conn.execute(
            sa.select(deliveries.c.payload, deliveries.c.state, deliveries.c.attempts,
                      jobs.c.attempts.label("claims"))
            .join(jobs, sa.and_(jobs.c.kind == "notify",
                                jobs.c.ref == sa.cast(deliveries.c.id, sa.String)))).all()
    assert sorted(r.payload["ID"] for r in rows) == sorted(bounce_ids)  # one delivery each
    assert all(r.state == "delivered" for r in rows)
    # A job claimed more often than the log recorded attempts lost its outcome to the
    # kill: only those may have been POSTed twice.
    in_flight = {r.payload["ID"] for r in rows if r.claims > r.attempts}
    repeated = {bounce_id for bounce_id, n in received.items() if n > 1}
    assert repeated <= in_flight, (repeated, in_flight)
    assert all(received[b] == 2 for b in repeated)
    assert torn <= len(in_flight)
    # At most the worker's concurrency was in flight (the server runs with the default).
    assert len(in_flight) <= Settings().worker_concurrency


def test_kill_9_under_smtp_load_loses_nothing(database_url: str, tmp_path: Path,
                                              receiver: WebhookReceiver) -> None:
    first = serve(tmp_path, database_url, ENV)
    second: ServeProcess | None = None
    db = Database(database_url, pool_size=2)
    load = Load(first.smtp_port, first.server_token)
    threads = [threading.Thread(target=load.client, args=(seed,)) for seed in range(CLIENTS)]
    try:
        _arm(first, receiver)
        for thread in threads:
            thread.start()
        wait_until(load.progress, timeout=40, message="150 accepted messages")
        assert not load.errors, load.errors[:5]
        load.killed.set()
        first.kill()
        for thread in threads:
            thread.join(timeout=30)
        accepted = dict(load.accepted)
        assert {r for rcpts in accepted.values() for r in rcpts} & SUPPRESSED

        second = serve(tmp_path, database_url, ENV)
        assert second.server_token == first.server_token
        wait_until(lambda: _settled(db), timeout=40, message="the pipeline to settle")
        bounce_ids = _check_screened_once(db, accepted)
        _check_webhooks(db, receiver, bounce_ids)
        with second.api() as api:  # the API sees the same: every 250'd message listed
            listed = api.get("/messages/outbound", params={"count": 1, "offset": 0}).json()
            assert listed["TotalCount"] >= len(accepted)
    finally:
        load.killed.set()
        for proc in (first, second):
            if proc is not None:
                proc.stop()
        db.close()
