"""Outages of what Postlane depends on: the webhook receiver down (connection refused) and
coming back, PostgreSQL refusing connections, and a full disk under SQLite.

Slow receivers, 500s and 403s are in test_webhook_delivery.py; kill -9 is in
test_crash_recovery.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import resource
import smtplib
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from postlane.domain.retry import WEBHOOK_SCHEDULE
from postlane.domain.types import JobKind
from postlane.pipeline.runner import Worker
from postlane.store import jobs, migrate
from postlane.store.database import Database, normalize_url
from postlane.store.schema import jobs as jobs_table
from postlane.store.schema import utcnow, webhook_deliveries
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    start_server,
    test_settings,
    wait_until,
)
from tests.support.serve_process import serve

#: First retry after 0.5 s, the second 2.5 s later.
SCALE = 0.5 / WEBHOOK_SCHEDULE[0]
EMAIL_BODY = {"From": "sender@example.com", "To": "someone@example.com",
              "Subject": "Hi", "TextBody": "Hello"}


def _free_port() -> int:
    """A port nobody listens on (yet): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _arm(api: httpx.Client, url: str, suppressed: list[str]) -> None:
    assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": a} for a in suppressed]})
    assert r.status_code == 200, r.text
    r = api.post("/webhooks", json={"Url": url, "MessageStream": "outbound",
                                    "Triggers": {"Bounce": {"Enabled": True}}})
    assert r.status_code == 200, r.text


def _deliveries(api: httpx.Client) -> list[dict[str, Any]]:
    r = api.get("/webhook-deliveries", params={"count": 500})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["Deliveries"]
    return rows


def _failed_attempts(caplog: pytest.LogCaptureFixture) -> dict[int, list[float]]:
    """Wall-clock times of each delivery's failed POSTs, from the worker's log."""
    times: dict[int, list[float]] = {}
    for record in caplog.records:
        if record.name == "postlane.pipeline.notify" and "failed (attempt" in record.msg:
            times.setdefault(int(record.args[0]), []).append(record.created)  # type: ignore[index]
    return times


def _check_schedule(row: dict[str, Any], failures: list[float], arrived: float) -> None:
    """Each gap between attempts is at least the scheduled delay: an attempt's failure is
    logged before the retry is scheduled, and the next POST starts after it is due."""
    assert row["State"] == "delivered" and row["LastStatusCode"] == 200, row
    assert row["Attempts"] == len(failures) + 1 >= 3, (row, failures)
    times = [*failures, arrived]
    for attempt, (before, after) in enumerate(itertools.pairwise(times)):
        assert after - before >= WEBHOOK_SCHEDULE[attempt] * SCALE, (row["ID"], attempt)
    created = datetime.fromisoformat(row["CreatedAt"]).timestamp()
    delivered = datetime.fromisoformat(row["DeliveredAt"]).timestamp()
    scheduled = sum(WEBHOOK_SCHEDULE[: row["Attempts"] - 1]) * SCALE
    assert delivered - created + 1 >= scheduled  # the log keeps whole seconds


def _arrival_clock() -> Callable[[float], float]:
    """The receiver stamps time.monotonic(); the log stamps time.time()."""
    offset = time.time() - time.monotonic()
    return lambda monotonic: monotonic + offset


def test_receiver_down_then_up(make_server: Callable[..., RunningServer],
                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="postlane.pipeline.notify")
    server = make_server(retry_scale=SCALE)
    api = server.api()
    receiver = WebhookReceiver(port=_free_port())
    _arm(api, receiver.url, ["gone@example.com"])
    code, message_id = smtp_send(server, make_message("gone@example.com"), ["gone@example.com"])
    assert code == 250

    [down] = wait_until(lambda: [d for d in _deliveries(api) if d["Attempts"] >= 2],
                        timeout=20, message="two refused attempts")
    assert down["State"] == "retrying" and down["LastStatusCode"] is None
    assert "ConnectError" in down["LastError"], down
    receiver.start()
    try:
        [row] = wait_until(lambda: [d for d in _deliveries(api) if d["State"] == "delivered"],
                           timeout=30, message="delivery once the receiver is up")
        [request] = receiver.requests
        assert request.body["MessageID"] == message_id and request.body["TypeCode"] == 4003
        [bounce] = api.get("/bounces").json()["Bounces"]
        assert request.body["ID"] == bounce["ID"]
        to_wall = _arrival_clock()
        _check_schedule(row, _failed_attempts(caplog)[row["ID"]], to_wall(request.at))
    finally:
        receiver.stop()


def test_twenty_bounces_while_down_arrive_once_each(
        make_server: Callable[..., RunningServer], db: Database,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="postlane.pipeline.notify")
    server = make_server(retry_scale=SCALE)
    api = server.api()
    receiver = WebhookReceiver(port=_free_port())
    suppressed = [f"gone{i}@example.com" for i in range(20)]
    _arm(api, receiver.url, suppressed)
    for i in range(10):  # two suppressed and one deliverable recipient each
        rcpts = [suppressed[2 * i], suppressed[2 * i + 1], f"fine{i}@example.com"]
        code, _ = smtp_send(server, make_message(", ".join(rcpts)), rcpts)
        assert code == 250

    def all_refused_twice() -> list[dict[str, Any]] | None:
        rows = _deliveries(api)
        return rows if len(rows) == 20 and all(d["Attempts"] >= 2 for d in rows) else None
    for row in wait_until(all_refused_twice, timeout=20, message="20 deliveries refused twice"):
        assert row["State"] == "retrying" and "ConnectError" in row["LastError"], row
    receiver.start()
    try:
        def all_delivered() -> list[dict[str, Any]] | None:
            rows = _deliveries(api)
            return rows if [d["State"] for d in rows] == ["delivered"] * 20 else None
        rows = wait_until(all_delivered, timeout=30, message="all 20 delivered")
        bounces = api.get("/bounces", params={"count": 100, "offset": 0}).json()["Bounces"]
        assert len(bounces) == 20
        received = Counter(r.body["ID"] for r in receiver.requests)
        assert received == Counter({b["ID"]: 1 for b in bounces})  # exactly once each
        by_bounce = {r.body["ID"]: r for r in receiver.requests}
        with db.read() as conn:
            carries = dict(conn.execute(sa.select(webhook_deliveries.c.id,
                                                  webhook_deliveries.c.payload)).all())
        failures = _failed_attempts(caplog)
        to_wall = _arrival_clock()
        for row in rows:
            arrived = by_bounce[carries[row["ID"]]["ID"]]
            _check_schedule(row, failures[row["ID"]], to_wall(arrived.at))
    finally:
        receiver.stop()


@pytest.fixture
def dedicated_pg(pg_database: str) -> Iterator[tuple[str, Callable[[bool], None]]]:
    """A database of its own (blocking it must not touch the session's), and a switch
    that refuses and drops every connection to it, or lets them in again."""
    name = f"postlane_outage_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(normalize_url(pg_database), isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(pg_database).set(database=name).render_as_string(
        hide_password=False)

    def available(up: bool) -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(up).lower()}'))
            if not up:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n"), {"n": name})

    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url, available
    finally:
        available(False)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _session(server: RunningServer, timeout: float = 30) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=timeout)
    smtp.login(server.server_token, server.server_token)
    return smtp


def _send(smtp: smtplib.SMTP, rcpt: str) -> tuple[int, str]:
    smtp.rset()
    smtp.mail("sender@example.com")
    smtp.rcpt(rcpt)
    msg = make_message(rcpt)
    code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    return code, reply.decode()


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] != 0, body


def test_postgresql_down(dedicated_pg: tuple[str, Callable[[bool], None]],
                         tmp_path: Path) -> None:
    url, available = dedicated_pg
    # A job running when the database went away records its failure once it is back
    # (the worker keeps trying while its lease lasts): it does not wait out the
    # 120-second lease, so everything below is sent within seconds of the return.
    server = start_server(test_settings(url, tmp_path / "data"))
    smtp = _session(server)
    api = server.api()
    accepted: list[str] = []
    try:
        code, reply = _send(smtp, "before@example.com")
        assert code == 250
        accepted.append(reply.rsplit(" ", 1)[-1])

        available(False)
        for i in range(3):  # an authenticated session: the accept fails, the client keeps it
            code, reply = _send(smtp, f"during{i}@example.com")
            assert code == 451, (code, reply)
        _unavailable(api.post("/email", json=EMAIL_BODY))
        _unavailable(api.get("/server"))
        _unavailable(api.get("/messages/outbound"))
        health = httpx.get(f"{server.api_url}/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["Status"] == "Unavailable"

        available(True)
        for i in range(3):  # the client retries what got a 451
            code, reply = wait_until(lambda i=i: (lambda r: r if r[0] == 250 else None)(
                _send(smtp, f"during{i}@example.com")), timeout=20, message="SMTP again")
            accepted.append(reply.rsplit(" ", 1)[-1])
        r = api.post("/email", json=EMAIL_BODY)
        assert r.status_code == 200 and r.json()["ErrorCode"] == 0, r.text
        accepted.append(r.json()["MessageID"])
        assert httpx.get(f"{server.api_url}/healthz", timeout=30).status_code == 200
        with _session(server) as again:
            code, _ = _send(again, "after@example.com")
            assert code == 250
        for message_id in accepted:  # nothing that got a 250 is missing, and all go on
            def sent(message_id: str = message_id) -> bool:
                details = api.get(f"/messages/outbound/{message_id}/details")
                assert details.status_code == 200, details.text
                return details.json()["Status"] == "Sent"
            wait_until(sent, timeout=20, message=f"{message_id} sent")
    finally:
        available(True)
        smtp.close()
        server.stop()


def test_a_job_that_failed_in_an_outage_is_rescheduled_when_the_database_returns(
        dedicated_pg: tuple[str, Callable[[bool], None]], tmp_path: Path) -> None:
    """The failure of a job (here: its step hit the outage) cannot be recorded while the
    database is away; the worker keeps trying, so once it is back the job is due again
    on its retry schedule, not when its 120-second lease runs out."""
    url, available = dedicated_pg
    db = Database(url, pool_size=2)
    migrate.upgrade(db)
    worker = Worker(db, test_settings(url, tmp_path / "data"))
    assert worker.settings.worker_lease_seconds == 120
    with db.write() as conn:
        jobs.enqueue(conn, JobKind.SCREEN, "some-message", 5)
        (job,) = jobs.claim(conn, worker.owner, 10, worker.settings.worker_lease_seconds)

    async def outage_of(seconds: float) -> float:
        available(False)
        started = time.monotonic()

        async def come_back() -> None:
            await asyncio.sleep(seconds)
            await asyncio.to_thread(available, True)

        worker.tx.start()
        try:
            returning = asyncio.create_task(come_back())
            await worker._schedule_retry(job, sa.exc.OperationalError("SELECT", {}, Exception(
                "server closed the connection unexpectedly")))
            await returning
        finally:
            worker.tx.stop()
        return time.monotonic() - started

    try:
        took = asyncio.run(outage_of(1.5))
        with db.read() as conn:
            row = conn.execute(sa.select(jobs_table).where(jobs_table.c.id == job.id)
                               ).mappings().one()
    finally:
        available(True)
        db.close()
    assert 1.5 <= took < 15
    assert row["state"] == "queued" and row["leased_until"] is None
    assert "server closed the connection" in row["last_error"]
    assert row["run_at"] < utcnow() + timedelta(seconds=5)  # due again in seconds


def test_postgresql_down_auth_is_a_temporary_failure(
        dedicated_pg: tuple[str, Callable[[bool], None]], tmp_path: Path) -> None:
    url, available = dedicated_pg
    server = start_server(test_settings(url, tmp_path / "data"))
    try:
        available(False)
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            _session(server, timeout=5)  # the token cannot be looked up: retry later
        assert refused.value.smtp_code == 454
        available(True)
        wait_until(lambda: _session(server).quit(), timeout=20, message="AUTH again")
    finally:
        available(True)
        server.stop()


FILE_LIMIT = 4 * 1024 * 1024
BIG = "x" * 60 + "\n"


def _limit_file_size() -> None:
    """In the child: no file may grow past FILE_LIMIT. Python ignores SIGXFSZ, so a write
    past it fails with EFBIG, as on a full disk, instead of killing the process."""
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, hard))  # soft: can be lifted


def _send_big(smtp: smtplib.SMTP, i: int) -> tuple[int, str]:
    msg = make_message("big@example.com", subject=f"big {i}", body=BIG * 2500)  # 150 kB
    smtp.rset()
    smtp.mail("sender@example.com")
    smtp.rcpt("big@example.com")
    code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    return code, reply.decode().rsplit(" ", 1)[-1]


def test_sqlite_disk_full(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'postlane.db'}"
    server = serve(tmp_path, url, {"POSTLANE_RETRY_SCALE": "0.01"}, preexec_fn=_limit_file_size)
    api = server.api()
    smtp = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30)
    accepted: list[str] = []
    codes: list[int] = []
    try:
        smtp.login(server.server_token, server.server_token)
        for i in range(60):  # the 4 MB limit is reached after about ten
            code, message_id = _send_big(smtp, i)
            codes.append(code)
            if code == 250:
                accepted.append(message_id)
            if codes[-3:] == [451] * 3:
                break
        assert accepted and codes[-3:] == [451] * 3, codes
        assert set(codes) <= {250, 451}, codes  # never a 5xx: the client keeps its mail

        _unavailable(api.post("/email", json={**EMAIL_BODY, "TextBody": BIG * 2500}))
        # Reads go on: the server, its messages, each one that got a 250, health.
        assert api.get("/server").status_code == 200
        listed = api.get("/messages/outbound", params={"count": 100, "offset": 0}).json()
        assert {m["MessageID"] for m in listed["Messages"]} >= set(accepted)
        for message_id in accepted:
            assert api.get(f"/messages/outbound/{message_id}/details").status_code == 200
        assert httpx.get(f"{server.api_url}/healthz", timeout=30).status_code == 200

        # Space comes back: the client's retry is accepted and the pipeline catches up.
        hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
        code, message_id = _send_big(smtp, len(codes))
        assert code == 250
        accepted.append(message_id)
        assert api.post("/email", json=EMAIL_BODY).status_code == 200
        for message_id in accepted:
            def sent(message_id: str = message_id) -> bool:
                details = api.get(f"/messages/outbound/{message_id}/details").json()
                return details["Status"] == "Sent"
            wait_until(sent, timeout=20, message=f"{message_id} sent")
    finally:
        smtp.close()
        api.close()
        server.stop()
