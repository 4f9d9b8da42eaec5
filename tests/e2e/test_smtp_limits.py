"""Connection limits on the SMTP listeners (issue 12, item 3), over real sockets: the
per-client and global session caps answer 421 4.7.0 without reading, a client that
dribbles bytes is cut at the command, DATA and session deadlines however often it sends,
both listeners (submission and the bounce MX) have the caps, and idle SMTP sockets beyond
the descriptor limit cannot take the HTTP API down."""

from __future__ import annotations

import base64
import contextlib
import resource
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.harness import RunningServer, wait_until
from tests.support.serve_process import serve
from tests.support.smtp_support import RawSession

#: Nothing here depends on the database: SQLite is enough.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

TOO_MANY = b"421 4.7.0 "


def _greeting(port: int) -> tuple[RawSession, bytes]:
    """A new connection and the first reply line it gets (b"" when closed at once)."""
    session = RawSession(port)
    reply = session.reply()
    return session, (reply[-1] if reply else b"")


def _refused_without_reading(port: int) -> bool:
    """The connection is answered 421 4.7.0 and then closed by the server."""
    session, line = _greeting(port)
    try:
        return line.startswith(TOO_MANY) and session.reply() is None
    finally:
        session.close()


@contextlib.contextmanager
def _open(port: int, count: int) -> Iterator[list[RawSession]]:
    sessions = []
    try:
        for _ in range(count):
            session, line = _greeting(port)
            sessions.append(session)
            assert line.startswith(b"220 "), line
        yield sessions
    finally:
        for session in sessions:
            session.close()


@sqlite_only
@pytest.mark.parametrize("listener", ["smtp", "inbound"])
def test_sessions_over_the_per_client_cap_get_421(
        make_server: Callable[..., RunningServer], listener: str) -> None:
    server = make_server(smtp_max_sessions_per_client=3)
    port = server.smtp_port if listener == "smtp" else server.inbound_port
    with _open(port, 3) as sessions:
        assert _refused_without_reading(port)
        sessions.pop().close()  # a slot comes free once a session ends
        def admitted() -> bool:
            session, line = _greeting(port)
            session.close()
            return line.startswith(b"220 ")
        wait_until(admitted, message="a new session admitted after one closed")


@sqlite_only
def test_trusted_networks_are_exempt_from_the_per_client_cap(
        make_server: Callable[..., RunningServer]) -> None:
    """As Postfix exempts mynetworks: an application's own pool of connections."""
    server = make_server(server_token="trusted-token", smtp_trusted_networks="127.0.0.0/8",
                         smtp_trusted_server_token="trusted-token",
                         smtp_max_sessions_per_client=2, smtp_max_sessions=4)
    with _open(server.smtp_port, 4):
        assert _refused_without_reading(server.smtp_port)  # the listener's cap holds
    with _open(server.inbound_port, 2):  # the bounce MX trusts no one
        assert _refused_without_reading(server.inbound_port)


@sqlite_only
def test_sessions_over_the_global_cap_get_421(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(smtp_max_sessions=2, smtp_max_sessions_per_client=10)
    with _open(server.smtp_port, 2):
        assert _refused_without_reading(server.smtp_port)
        # The other listener has caps of its own: the submission's full house is no
        # reason to refuse bounce reports.
        with _open(server.inbound_port, 2):
            assert _refused_without_reading(server.inbound_port)


def _plain(token: str) -> bytes:
    return base64.b64encode(f"\0{token}\0{token}".encode())


def _dribble(session: RawSession, data: bytes, every: float, limit: float) -> tuple[
        bytes | None, float]:
    """Send ``data`` a byte at a time until the server answers; that answer (None when
    it closed without one) and how long the dribbling went on."""
    started = time.monotonic()
    session.sock.settimeout(every)
    for byte in data:
        try:
            session.sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            chunk = session.sock.recv(4096)
        except TimeoutError:
            assert time.monotonic() - started < limit, "never cut"
            continue
        return chunk or None, time.monotonic() - started
    raise AssertionError("the whole line went through without a deadline")


@sqlite_only
def test_a_client_dribbling_a_command_is_cut_at_the_command_deadline(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(smtp_command_timeout_seconds=1, smtp_idle_timeout_seconds=60)
    session, line = _greeting(server.smtp_port)
    try:
        assert line.startswith(b"220 ")
        # One byte every 0.2 s never lets the idle timeout (60 s) fire; the command
        # deadline (1 s for the whole line) does.
        answer, took = _dribble(session, b"NOOP" + b" x" * 200, every=0.2, limit=10)
        assert answer is not None and answer.startswith(b"421 4.4.2 "), answer
        assert took < 10
        assert session.reply() is None  # and closed
    finally:
        session.close()


@sqlite_only
def test_a_client_dribbling_its_message_is_cut_at_the_data_deadline(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(smtp_data_timeout_seconds=1, smtp_idle_timeout_seconds=60)
    session, _ = _greeting(server.smtp_port)
    try:
        for command in (b"EHLO client.example", b"AUTH PLAIN " + _plain(server.server_token),
                        b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA"):
            assert session.send(command) and session.reply() is not None
        answer, _ = _dribble(session, b"Subject: slow\r\n" * 100, every=0.2, limit=10)
        assert answer is not None and answer.startswith(b"421 4.4.2 "), answer
        assert session.reply() is None
    finally:
        session.close()


@sqlite_only
def test_a_client_that_keeps_sending_noop_is_cut_at_the_session_deadline(
        make_server: Callable[..., RunningServer]) -> None:
    server = make_server(smtp_session_timeout_seconds=1.5)
    session, _ = _greeting(server.smtp_port)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 10:
            assert session.send(b"NOOP")
            reply = session.reply()
            assert reply is not None
            if reply[-1].startswith(b"421 "):
                assert reply[-1].startswith(b"421 4.4.2 ")
                break
            assert reply[-1].startswith(b"250 ")
            time.sleep(0.2)
        else:
            raise AssertionError("never cut")
        assert session.reply() is None
    finally:
        session.close()


FD_LIMIT = 1024


def _low_fd_limit() -> None:
    """In the child, before exec: a small descriptor limit it cannot raise."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def test_idle_smtp_sockets_beyond_the_fd_limit_leave_the_api_answering(
        tmp_path: Path) -> None:
    """1,100 idle pre-AUTH sockets took the API down under a 1024 limit (issue 12). The
    SMTP caps are sized below the limit, so the sockets over them are refused at once
    and the API still has descriptors to accept with."""
    running = serve(tmp_path, f"sqlite:///{tmp_path / 'postlane.db'}",
                    preexec_fn=_low_fd_limit)
    sockets: list[socket.socket] = []
    try:
        refused = 0
        for _ in range(FD_LIMIT + 200):
            sock = socket.create_connection(("127.0.0.1", running.smtp_port), timeout=10)
            sockets.append(sock)
        for sock in sockets:  # each one was greeted or turned away; none left hanging
            sock.settimeout(10)
            first = sock.recv(100)
            assert first.startswith((b"220 ", TOO_MANY)), first
            refused += first.startswith(TOO_MANY)
        assert refused > 0
        with httpx.Client(timeout=10) as client:
            r = client.get(running.api_url + "/healthz")
            assert r.status_code == 200, r.text
            r = client.get(running.api_url + "/server",
                           headers={"X-Postmark-Server-Token": running.server_token})
            assert r.status_code == 200, r.text
    finally:
        for sock in sockets:
            sock.close()
        running.stop()
