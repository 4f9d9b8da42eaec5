"""The real `postlane serve` process, as a new user runs it: zero config, SQLite, tokens
printed, every role answering, a clean stop on SIGTERM, and the same tokens on restart."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from postlane.cli import banner_fields


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "postlane.cli", *args]


@contextmanager
def serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(_command("serve", "--smtp-port", "0", "--api-port", "0",
                                     "--inbound-port", "0", *args),
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    found: dict[str, str] = {}
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            found.update(banner_fields(line))
            if line.strip() == "Ready.":
                found["pid"] = str(proc.pid)
                break
        else:
            pytest.fail("server exited before it was ready:\n" + "".join(lines))
        yield found
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, "".join(lines)


def test_zero_config_serve_walks_the_basics(tmp_path: Path) -> None:
    with serve(tmp_path) as info:
        assert (tmp_path / "postlane-data" / "postlane.db").exists()
        assert int(info["inbound"]) > 0  # the bounce MX runs by default
        health = httpx.get(f"{info['api']}/healthz", timeout=10)
        assert health.json() == {"Status": "OK", "Database": "sqlite"}
        server = httpx.get(f"{info['api']}/server", timeout=10,
                           headers={"X-Postmark-Server-Token": info["server"]}).json()
        assert server["Name"] == "Default"
        assert server["DeliveryType"] == "Sandbox"
        streams = httpx.get(f"{info['api']}/message-streams", timeout=10,
                            headers={"X-Postmark-Server-Token": info["server"]}).json()
        assert {s["ID"] for s in streams["MessageStreams"]} == {"outbound", "broadcast",
                                                                  "inbound"}
        servers = httpx.get(f"{info['api']}/servers", timeout=10,
                            headers={"X-Postmark-Account-Token": info["account"]}).json()
        assert servers["TotalCount"] == 1
        with smtplib.SMTP("127.0.0.1", int(info["smtp"]), timeout=10) as smtp:
            smtp.starttls()
            smtp.login(info["server"], info["server"])
            refused = smtp.sendmail("app@example.com", ["a@example.com"],
                                    b"Subject: hi\r\n\r\nhello\r\n")
            assert refused == {}
    with serve(tmp_path) as again:
        assert again["account"] == info["account"]
        assert again["server"] == info["server"]
        listed = httpx.get(f"{again['api']}/messages/outbound", timeout=10,
                           headers={"X-Postmark-Server-Token": again["server"]}).json()
        assert listed["TotalCount"] == 1


def test_roles_select_listeners(tmp_path: Path) -> None:
    with serve(tmp_path, "--roles", "api") as info:
        assert "smtp" not in info
        assert "inbound" not in info
        assert httpx.get(f"{info['api']}/healthz", timeout=10).status_code == 200


def test_bad_roles_are_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(_command("serve", "--roles", "smtp,mailroom"), cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "roles" in result.stderr


def test_migrate_on_postgresql(pg_database: str, tmp_path: Path) -> None:
    result = subprocess.run(_command("migrate", "--database-url", pg_database), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Schema is current" in result.stdout


def _children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def test_several_smtp_processes_share_the_port(tmp_path: Path) -> None:
    with serve(tmp_path, "--smtp-processes", "3") as info:
        server_pid = int(info["pid"])
        assert len(_children_of(server_pid)) == 2
        ids = set()
        for i in range(30):  # a new connection each time: the kernel spreads them
            with smtplib.SMTP("127.0.0.1", int(info["smtp"]), timeout=10) as smtp:
                smtp.login(info["server"], info["server"])
                smtp.mail("app@example.com")
                smtp.rcpt(f"r{i}@example.com")
                code, reply = smtp.data(b"Subject: hi\r\n\r\nhello\r\n")
                assert code == 250
                ids.add(reply.decode().rsplit(" ", 1)[-1])
        listed = httpx.get(f"{info['api']}/messages/outbound", params={"count": 100},
                           headers={"X-Postmark-Server-Token": info["server"]}, timeout=10)
        assert {m["MessageID"] for m in listed.json()["Messages"]} == ids
        # Connections opened at once (as a client pool does) are spread too: each
        # process listens on its own SO_REUSEPORT socket, so none takes them all.
        pids = [server_pid, *_children_of(server_pid)]
        clients = [socket.create_connection(("127.0.0.1", int(info["smtp"])), timeout=10)
                   for _ in range(24)]
        try:
            for client in clients:
                assert client.recv(512).startswith(b"220")
            served = _connections_by_process(int(info["smtp"]), pids)
        finally:
            for client in clients:
                client.close()
        assert sum(served.values()) == 24 and set(served) == set(pids), served
    assert _children_of(server_pid) == []


def _connections_by_process(port: int, pids: list[int]) -> Counter[int | None]:
    """Established server-side connections on ``port``, counted by the owning process."""
    owner: dict[str, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = str(fd.readlink())
                if target.startswith("socket:["):
                    owner[target[len("socket:["):-1]] = pid
    counts: Counter[int | None] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        if local_port == port and state == "01":  # ESTABLISHED
            counts[owner.get(inode)] += 1
    return counts


def test_worker_in_its_own_process_is_woken_by_accepts(tmp_path: Path) -> None:
    """--worker-processes 1: the seed flow still runs end to end, promptly (the acceptor
    wakes the worker through a pipe, so nothing waits for a long poll)."""
    env_poll = {"POSTLANE_WORKER_POLL_SECONDS": "30"}
    with serve(tmp_path, "--worker-processes", "1", env=env_poll) as info:
        server_pid = int(info["pid"])
        assert len(_children_of(server_pid)) == 1
        headers = {"X-Postmark-Server-Token": info["server"]}
        with smtplib.SMTP("127.0.0.1", int(info["smtp"]), timeout=10) as smtp:
            smtp.login(info["server"], info["server"])
            smtp.mail("app@example.com")
            smtp.rcpt("someone@example.com")
            code, reply = smtp.data(b"Subject: hi\r\n\r\nhello\r\n")
        assert code == 250
        message_id = reply.decode().rsplit(" ", 1)[-1]

        def status() -> str:
            return str(httpx.get(f"{info['api']}/messages/outbound/{message_id}/details",
                                 headers=headers, timeout=10).json()["Status"])

        deadline = time.monotonic() + 10  # far less than the 30 s poll
        while status() != "Sent":
            assert time.monotonic() < deadline, "the worker process was not woken"
            time.sleep(0.05)
    assert _children_of(server_pid) == []
