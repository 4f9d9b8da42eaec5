"""Scale-out on PostgreSQL with real processes: two `postlane serve --roles smtp`, two
`--roles api` and three `--roles worker` against one database.

1. Load: a few hundred messages over both SMTP and both API processes, a share of them to
   suppressed recipients with EnableSmtpApiErrorHooks on. Proven from effects alone: every
   accepted message is stored, every job is done, one job per (kind, ref), one bounce per
   suppressed recipient, one webhook POST per bounce, one terminal event per recipient.
2. Crash: the workers stop, more mail is queued, one worker claims notify jobs against a
   slow webhook receiver and is killed with SIGKILL while it holds their leases; two fresh
   workers take those jobs over once the leases expire. Every webhook arrives; a webhook
   arrives twice only for a job the killed worker held (at-least-once).

PostgreSQL only: this is what the jobs table's SKIP LOCKED leases are for.
"""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from postlane.cli import banner_fields
from postlane.store import migrate
from postlane.store.database import Database, normalize_url
from tests.conftest import _truncate
from tests.support.harness import WebhookReceiver, make_message, wait_until

BLOCKED = [f"blocked{i}@example.com" for i in range(20)]
SMTP_MESSAGES = 240  # over both SMTP processes
API_MESSAGES = 80  # over both API processes
CRASH_MESSAGES = 24  # phase 2, each with one suppressed recipient
CRASH_CONCURRENCY = 4  # the doomed worker's slots: it holds this many notify jobs when killed
SLOW_SECONDS = 6.0  # the slow receiver's answer time while the doomed worker posts
WAIT = 90.0  # generous: a loaded 2-core machine

COMMON_ENV = {
    "PYTHONUNBUFFERED": "1",
    "POSTLANE_RETRY_SCALE": "0.01",
    "POSTLANE_WORKER_POLL_SECONDS": "0.05",
    "POSTLANE_WORKER_LEASE_SECONDS": "30",
    "POSTLANE_DB_POOL_SIZE": "4",
    # Worker-only processes post to this test's receiver on loopback: said explicitly,
    # as a worker-only process refuses private targets by default.
    "POSTLANE_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
}


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    banner: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


class Cluster:
    """Real `postlane serve` processes; output goes to files so a full pipe never blocks
    them."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.tmp = tmp
        self.procs: list[Proc] = []

    def spawn(self, name: str, roles: str, **env: str) -> Proc:
        log = self.tmp / f"{name}.log"
        full_env = {**os.environ, **COMMON_ENV, **env}
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "postlane.cli", "serve", "--roles", roles,
                 "--database-url", self.url, "--data-dir", str(self.tmp / name),
                 "--smtp-port", "0", "--api-port", "0", "--inbound-port", "0"],
                env=full_env, stdout=out, stderr=subprocess.STDOUT)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def ready(self, *procs: Proc) -> None:
        for proc in procs:
            def up(proc: Proc = proc) -> bool:
                if proc.popen.poll() is not None:
                    pytest.fail(f"{proc.name} exited early:\n{proc.text()}", pytrace=False)
                return "\nReady." in proc.text()

            wait_until(up, timeout=WAIT, interval=0.1, message=f"{proc.name} ready")
            for line in proc.text().splitlines():
                proc.banner.update(banner_fields(line))

    def start(self, name: str, roles: str, **env: str) -> Proc:
        proc = self.spawn(name, roles, **env)
        self.ready(proc)
        return proc

    def stop(self, proc: Proc) -> int:
        """SIGTERM, then SIGKILL if it will not go."""
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
            try:
                return proc.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
        return proc.popen.wait(timeout=20)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc)


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, blank (no tables), so the first process really
    migrates it; left migrated and empty for the tests after this one."""
    engine = sa.create_engine(normalize_url(pg_database))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    try:
        yield pg_database
    finally:
        db = Database(pg_database, pool_size=1)
        migrate.upgrade(db)  # a no-op unless the first process failed to migrate
        db.close()
        _truncate(pg_database)


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(pg_url, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


# --- sending ---------------------------------------------------------------------------

def smtp_batch(port: int, token: str, batches: list[list[str]]) -> list[str]:
    """One SMTP session, one transaction per recipient list; the MessageIDs of the 250s."""
    ids = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.login(token, token)
        for n, rcpts in enumerate(batches):
            msg = make_message(", ".join(rcpts), subject=f"load {n}")
            smtp.mail("sender@example.com")
            for rcpt in rcpts:
                smtp.rcpt(rcpt)
            code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
            assert code == 250, reply
            ids.append(reply.decode().rsplit(" ", 1)[-1])
    return ids


def api_batch(api_url: str, token: str, items: list[tuple[str, str]]) -> list[str]:
    """POST /email for each (To, Cc); the MessageIDs of the 200s. All-inactive recipients
    must be refused with 422 / ErrorCode 406 and stored nowhere."""
    ids = []
    with httpx.Client(base_url=api_url, timeout=60,
                      headers={"X-Postmark-Server-Token": token}) as client:
        for to, cc in items:
            r = client.post("/email", json={"From": "sender@example.com", "To": to, "Cc": cc,
                                            "Subject": "api load", "TextBody": "Hi"})
            if to in BLOCKED and not cc:
                assert r.status_code == 422, r.text
                assert r.json()["ErrorCode"] == 406
                continue
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["ErrorCode"] == 0
            if cc:  # the suppressed Cc is named and left out
                assert cc in body["Message"]
            ids.append(body["MessageID"])
    return ids


def smtp_recipients(i: int) -> list[str]:
    """Clean only, clean + suppressed, or suppressed only (no deliver job at all)."""
    if i % 6 == 0:
        return [BLOCKED[i % len(BLOCKED)]]
    if i % 3 == 0:
        return [f"user{i}@example.com", BLOCKED[i % len(BLOCKED)]]
    return [f"user{i}@example.com"]


def api_items(start: int, count: int) -> list[tuple[str, str]]:
    items = [(f"api{j}@example.com", BLOCKED[j % len(BLOCKED)] if j % 5 == 0 else "")
             for j in range(start, start + count)]
    items.append((BLOCKED[start % len(BLOCKED)], ""))  # refused, stored nowhere
    return items


def send_load(smtp_ports: list[int], api_urls: list[str], token: str) -> set[str]:
    per_smtp = SMTP_MESSAGES // len(smtp_ports) // 2  # two sessions per SMTP process
    per_api = API_MESSAGES // len(api_urls)
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = []
        for s, port in enumerate(smtp_ports):
            for half in range(2):
                first = (2 * s + half) * per_smtp
                futures.append(pool.submit(smtp_batch, port, token, [
                    smtp_recipients(i) for i in range(first, first + per_smtp)]))
        for a, api_url in enumerate(api_urls):
            futures.append(pool.submit(api_batch, api_url, token,
                                       api_items(a * per_api, per_api)))
        ids = [i for f in futures for i in f.result()]
    assert len(ids) == len(set(ids)) == SMTP_MESSAGES + API_MESSAGES
    return set(ids)


# --- proving from effects --------------------------------------------------------------

def rows(engine: sa.Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).all())


def unfinished_jobs(engine: sa.Engine) -> int:
    return int(rows(engine, "SELECT count(*) FROM jobs WHERE state <> 'done'")[0][0])


def bounce_ids(engine: sa.Engine) -> set[int]:
    return {r[0] for r in rows(engine, "SELECT id FROM bounces")}


def received_ids(receiver: WebhookReceiver) -> Counter[int]:
    return Counter(b["ID"] for b in receiver.bodies() if isinstance(b, dict) and "ID" in b)


def settled(engine: sa.Engine, receivers: list[WebhookReceiver]) -> bool:
    if unfinished_jobs(engine):
        return False
    got: set[int] = set()
    for receiver in receivers:
        got |= set(received_ids(receiver))
    return got == bounce_ids(engine)


def assert_consistent(engine: sa.Engine, accepted: set[str]) -> None:
    """Every accepted message stored, every job done once, one bounce per suppressed
    recipient, one terminal event per recipient."""
    stored = {r[0] for r in rows(engine, "SELECT id FROM messages")}
    assert stored == accepted
    assert rows(engine, "SELECT kind, state, count(*) FROM jobs WHERE state <> 'done' "
                        "GROUP BY kind, state") == []
    assert rows(engine, "SELECT kind, ref, count(*) FROM jobs WHERE kind IN "
                        "('screen', 'deliver') GROUP BY kind, ref HAVING count(*) > 1") == []
    screened = {r[0] for r in rows(engine, "SELECT ref FROM jobs WHERE kind = 'screen'")}
    assert screened == accepted
    with_clean = {r[0] for r in rows(engine, "SELECT DISTINCT message_id FROM recipients "
                                             "WHERE email NOT LIKE 'blocked%'")}
    delivered = {r[0] for r in rows(engine, "SELECT ref FROM jobs WHERE kind = 'deliver'")}
    assert delivered == with_clean

    # Suppressed recipients: SMTP ones bounced once each (never sent: their rows say
    # Suppressed); the API never accepted any.
    blocked = rows(engine, "SELECT r.id, m.source, r.status FROM recipients r JOIN messages m "
                           "ON m.id = r.message_id WHERE r.email LIKE 'blocked%'")
    assert blocked and {(source, status) for _, source, status in blocked} == {
        ("smtp", "Suppressed")}
    bounced = rows(engine, "SELECT recipient_id, type_code FROM bounces")
    assert sorted(r[0] for r in bounced) == sorted(r[0] for r in blocked)
    assert {r[1] for r in bounced} == {4003}
    # One notify job and one delivery row per bounce (one Bounce webhook on the stream).
    notify = rows(engine, "SELECT count(*), count(DISTINCT ref) FROM jobs WHERE kind = 'notify'")
    assert notify[0][0] == notify[0][1] == len(bounced)

    terminal = rows(engine, """
        SELECT r.id, r.email, r.status, array_agg(e.event_type ORDER BY e.id)
        FROM recipients r LEFT JOIN message_events e
          ON e.message_id = r.message_id AND e.recipient = r.address
         AND e.event_type IN ('Delivered', 'Bounced')
        GROUP BY r.id, r.email, r.status""")
    for rid, email, status, events in terminal:
        want = ("Suppressed", "Bounced") if email.startswith("blocked") else ("Sent",
                                                                             "Delivered")
        assert (status, events) == (want[0], [want[1]]), (rid, email)


# --- the test --------------------------------------------------------------------------

def configure(api_url: str, boot: dict[str, str], hook_url: str) -> int:
    server = httpx.Client(base_url=api_url, timeout=30,
                          headers={"X-Postmark-Server-Token": boot["server"]})
    account = httpx.Client(base_url=api_url, timeout=30,
                           headers={"X-Postmark-Account-Token": boot["account"]})
    with server, account:
        r = account.put(f"/servers/{boot['server_id']}", json={"EnableSmtpApiErrorHooks": True})
        assert r.status_code == 200 and r.json()["EnableSmtpApiErrorHooks"] is True, r.text
        r = server.post("/webhooks", json={"Url": hook_url, "MessageStream": "outbound",
                                           "Triggers": {"Bounce": {"Enabled": True}}})
        assert r.status_code == 200, r.text
        hook_id = int(r.json()["ID"])
        r = server.post("/message-streams/outbound/suppressions",
                        json={"Suppressions": [{"EmailAddress": a} for a in BLOCKED]})
        assert [s["Status"] for s in r.json()["Suppressions"]] == ["Suppressed"] * len(BLOCKED)
    return hook_id


def pid_owner(pid: int) -> str:
    return f"%:{pid}:%"


def test_scale_out_load_then_worker_crash(cluster: Cluster, pg_url: str) -> None:
    engine = sa.create_engine(normalize_url(pg_url))
    fast = WebhookReceiver().start()
    slow = WebhookReceiver(delay=SLOW_SECONDS).start()
    try:
        # The first process migrates and bootstraps alone; the rest find the schema current
        # and the same account and server.
        smtp1 = cluster.start("smtp1", "smtp")
        rest = [cluster.spawn("smtp2", "smtp"), cluster.spawn("api1", "api"),
                cluster.spawn("api2", "api")]
        workers = [cluster.spawn(f"worker{n}", "worker") for n in range(3)]
        cluster.ready(*rest, *workers)
        smtp2, api1, api2 = rest
        boot = smtp1.banner
        assert "Running upgrade" in smtp1.text()
        for proc in [*rest, *workers]:
            assert "Running upgrade" not in proc.text(), proc.name
            assert (proc.banner["account"], proc.banner["server"]) == (boot["account"],
                                                                       boot["server"])
        hook_id = configure(api1.banner["api"], boot, fast.url)

        # 1. Load over both front doors of both kinds.
        accepted = send_load([int(smtp1.banner["smtp"]), int(smtp2.banner["smtp"])],
                             [api1.banner["api"], api2.banner["api"]], boot["server"])
        wait_until(lambda: settled(engine, [fast]), timeout=WAIT, interval=0.2,
                   message="every job done and every bounce webhook received")
        assert_consistent(engine, accepted)
        per_bounce = received_ids(fast)
        assert set(per_bounce) == bounce_ids(engine)
        assert set(per_bounce.values()) == {1}  # exactly one POST per bounce
        owners = {r[0].split(":")[1] for r in rows(engine, "SELECT DISTINCT lease_owner FROM jobs")}
        assert len(owners) >= 2, owners  # the work really was shared out
        assert owners <= {str(w.popen.pid) for w in workers}

        # 2. Crash: no workers; queue more mail, bound for a slow webhook endpoint.
        for worker in workers:
            assert cluster.stop(worker) == 0, worker.text()
        with httpx.Client(base_url=api2.banner["api"], timeout=30,
                          headers={"X-Postmark-Server-Token": boot["server"]}) as api:
            assert api.put(f"/webhooks/{hook_id}", json={"Url": slow.url}).status_code == 200
        crash_batches = [[f"late{i}@example.com", BLOCKED[i % len(BLOCKED)]]
                         for i in range(CRASH_MESSAGES)]
        accepted |= set(smtp_batch(int(smtp2.banner["smtp"]), boot["server"], crash_batches))
        assert unfinished_jobs(engine) == CRASH_MESSAGES  # screen jobs, waiting

        doomed = cluster.start("doomed", "worker", POSTLANE_WORKER_LEASE_SECONDS="2",
                               POSTLANE_WORKER_POLL_SECONDS="30",
                               POSTLANE_WORKER_CONCURRENCY=str(CRASH_CONCURRENCY),
                               # every slot may hold a webhook POST (default: half)
                               POSTLANE_WEBHOOK_WORKER_SHARE="1",
                               POSTLANE_WEBHOOK_TIMEOUT_SECONDS="120")
        held_sql = ("SELECT id, kind, ref FROM jobs WHERE state = 'queued' "
                    "AND lease_owner LIKE :owner")
        wait_until(lambda: len([r for r in rows(engine, held_sql, owner=pid_owner(doomed.popen.pid))
                                if r[1] == "notify"]) >= CRASH_CONCURRENCY,
                   timeout=WAIT, interval=0.02, message="the doomed worker holding notify jobs")
        doomed.popen.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        doomed.popen.wait(timeout=20)
        held = rows(engine, held_sql, owner=pid_owner(doomed.popen.pid))
        held_notify = {int(r[2]) for r in held if r[1] == "notify"}
        assert len(held_notify) >= 1

        slow.delay = 0.0  # fresh attempts answer at once; the doomed ones still sleep
        fresh = [cluster.spawn(f"fresh{n}", "worker") for n in range(2)]
        cluster.ready(*fresh)
        wait_until(lambda: settled(engine, [fast, slow]), timeout=WAIT, interval=0.2,
                   message="the killed worker's jobs taken over and finished")
        # Let the receiver finish the killed worker's sleeping requests before counting.
        time.sleep(max(0.0, killed_at + SLOW_SECONDS + 2.0 - time.monotonic()))
        assert_consistent(engine, accepted)

        # The doomed worker's leased jobs were finished by a fresh worker.
        fresh_pids = {str(f.popen.pid) for f in fresh}
        for job_id, _kind, _ref in held:
            (owner, state, attempts), = rows(
                engine, "SELECT lease_owner, state, attempts FROM jobs WHERE id = :id", id=job_id)
            assert state == "done" and owner.split(":")[1] in fresh_pids and attempts >= 2

        # Every bounce's webhook arrived; phase 1's exactly once, and none went to the old URL.
        assert received_ids(fast) == per_bounce
        late = received_ids(slow)
        assert set(late) == bounce_ids(engine) - set(per_bounce)
        assert len(late) == CRASH_MESSAGES
        held_bounces = {int(payload["ID"]) for delivery_id, payload in rows(
            engine, "SELECT id, payload FROM webhook_deliveries") if delivery_id in held_notify}
        duplicates = {bid: n - 1 for bid, n in late.items() if n > 1}
        assert set(duplicates) <= held_bounces  # only jobs in flight at the kill
        assert sum(duplicates.values()) <= len(held_notify)
    finally:
        cluster.stop_all()
        fast.stop()
        slow.stop()
        engine.dispose()
