"""The SMTP engine (postlane/smtp/engine.py) over real sockets: pipelining, DATA
transparency, STARTTLS's clean slate, a client that does not read its replies, limits
and the idle timeout. On asyncio's loop and on uvloop, which `postlane serve` runs."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness import RunningServer, start_server, test_settings
from tests.support.session_support import without_trace
from tests.support.smtp_support import RawSession, message_id, unverified_tls

#: The engine does not depend on the database: SQLite is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _start(loop: str, database_url: str, tmp_path: Path, **overrides: Any) -> RunningServer:
    return start_server(test_settings(database_url, tmp_path / "data", **overrides),
                        use_uvloop=loop == "uvloop")


@pytest.fixture(params=["asyncio", "uvloop"])
def smtp(request: pytest.FixtureRequest, database_url: str,
         tmp_path: Path) -> Iterator[RunningServer]:
    running = _start(request.param, database_url, tmp_path,
                     smtp_max_message_bytes=64 * 1024)
    yield running
    running.stop()


def _plain(token: str) -> bytes:
    return base64.b64encode(f"\0{token}\0{token}".encode())


def _replies(session: RawSession, count: int) -> list[list[bytes]]:
    replies: list[list[bytes]] = []
    for _ in range(count):
        reply = session.reply()
        assert reply is not None, f"connection closed after {replies!r}"
        replies.append(reply)
    return replies


def _codes(replies: list[list[bytes]]) -> list[bytes]:
    return [reply[-1][:3] for reply in replies]


def _authenticated(server: RunningServer) -> RawSession:
    session = RawSession(server.smtp_port)
    session.reply()  # 220
    session.sock.sendall(b"EHLO client.example\r\nAUTH PLAIN " + _plain(server.server_token)
                         + b"\r\n")
    assert _codes(_replies(session, 2)) == [b"250", b"235"]
    return session


def _stored_body(server: RunningServer, reply: list[bytes]) -> str:
    """The stored message without the trace header (checked) that comes first."""
    mid = message_id(reply[-1].decode())
    return without_trace(server.api().get(f"/messages/outbound/{mid}/dump").json()["Body"])


def test_pipelined_commands_are_answered_in_order(smtp: RunningServer) -> None:
    session = RawSession(smtp.smtp_port)
    try:
        assert session.reply()[-1].startswith(b"220")  # type: ignore[index]
        session.sock.sendall(b"EHLO client.example\r\nAUTH PLAIN " + _plain(smtp.server_token)
                             + b"\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<one@example.com>"
                             b"\r\nDATA\r\n")
        replies = _replies(session, 5)
        assert _codes(replies) == [b"250", b"235", b"250", b"250", b"354"]
        assert b"250-PIPELINING" in replies[0] and b"250-ENHANCEDSTATUSCODES" in replies[0]
        # The end of one message, a whole second transaction and QUIT in one write.
        session.sock.sendall(b"Subject: first\r\n\r\none\r\n.\r\nMAIL FROM:<app@example.com>\r\n"
                             b"RCPT TO:<two@example.com>\r\nDATA\r\n")
        first, mail, rcpt, data = _replies(session, 4)
        assert _codes([mail, rcpt, data]) == [b"250", b"250", b"354"]
        session.sock.sendall(b"Subject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        second, bye = _replies(session, 2)
        assert bye[-1].startswith(b"221") and session.reply() is None
    finally:
        session.close()
    assert _stored_body(smtp, first) == "Subject: first\r\n\r\none\r\n"
    assert _stored_body(smtp, second) == "Subject: second\r\n\r\ntwo\r\n"


def test_dot_transparency_and_bare_line_feeds(smtp: RunningServer) -> None:
    """RFC 5321 4.5.2: a leading dot is doubled on the wire and undone here. Only
    CRLF.CRLF ends the data: a bare LF around a dot (SMTP smuggling) is content."""
    original = (b"Subject: dots\r\n\r\n.hidden\r\n..two\r\n.\x20\r\nsmuggle\n.\nstill\r\n.\n"
                b"more\n.\r\nend\r\n")
    stuffed = original.replace(b"\r\n.", b"\r\n..")
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\n"
                             b"DATA\r\n")
        assert _codes(_replies(session, 3)) == [b"250", b"250", b"354"]
        session.sock.sendall(stuffed + b".\r\n")
        reply = session.reply()
        assert reply is not None and reply[-1].startswith(b"250"), reply
    finally:
        session.close()
    assert _stored_body(smtp, reply).encode() == original


def test_empty_data_gets_an_answer_and_the_session_goes_on(smtp: RunningServer) -> None:
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\n"
                             b"DATA\r\n.\r\nNOOP\r\n")
        replies = _replies(session, 5)
        assert _codes(replies)[:3] == [b"250", b"250", b"354"]
        assert replies[3][-1][:1] in (b"2", b"4", b"5")
        assert replies[4] == [b"250 2.0.0 OK"]
    finally:
        session.close()


def test_end_of_data_split_across_packets_and_oversized_data(smtp: RunningServer) -> None:
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\n"
                             b"DATA\r\n")
        assert _codes(_replies(session, 3)) == [b"250", b"250", b"354"]
        for part in (b"Subject: split\r\n\r\nbody\r", b"\n", b".", b"\r", b"\n"):
            session.sock.sendall(part)
            time.sleep(0.02)
        reply = session.reply()
        assert reply is not None and reply[-1].startswith(b"250"), reply
        assert _stored_body(smtp, reply) == "Subject: split\r\n\r\nbody\r\n"

        # Over the 64 KiB limit, in many writes: refused once it has all arrived, and
        # the session stays usable.
        session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\n"
                             b"DATA\r\n")
        assert _codes(_replies(session, 3)) == [b"250", b"250", b"354"]
        line = b"x" * 998 + b"\r\n"
        for _ in range(256):  # 256 KiB
            session.sock.sendall(line)
        session.sock.sendall(b".\r\nNOOP\r\n")
        refusal, noop = _replies(session, 2)
        assert refusal[-1].startswith(b"552"), refusal
        assert noop == [b"250 2.0.0 OK"]
    finally:
        session.close()


def test_starttls_discards_what_was_pipelined_before_the_handshake(
        database_url: str, tmp_path: Path) -> None:
    """RFC 3207 4.2: commands sent in clear text after STARTTLS must not run inside
    the TLS session (the STARTTLS command injection attack). On a trusted network no
    AUTH stands in the way, so an injected MAIL would open a transaction."""
    server = _start("uvloop", database_url, tmp_path, server_token="trusted-token",
                    smtp_trusted_networks=("127.0.0.0/8",),
                    smtp_trusted_server_token="trusted-token")
    sock = socket.create_connection(("127.0.0.1", server.smtp_port), timeout=15)
    try:
        plain = RawSession.over(sock)
        plain.reply()  # 220
        sock.sendall(b"EHLO client.example\r\n")
        plain.reply()
        sock.sendall(b"STARTTLS\r\nEHLO injected.example\r\nMAIL FROM:<injected@example.com>"
                     b"\r\n")
        ready = plain.reply()
        assert ready is not None and ready[-1].startswith(b"220"), ready
        assert plain.buffer == b""
        tls = unverified_tls().wrap_socket(sock, server_hostname="localhost")
        secure = RawSession.over(tls)
        tls.sendall(b"EHLO client.example\r\n")
        ehlo = secure.reply()
        assert ehlo is not None and ehlo[0] == b"250-localhost" and b"250-STARTTLS" not in ehlo
        tls.sendall(b"RCPT TO:<r@example.com>\r\n")
        assert secure.reply() == [b"503 5.5.1 Error: need MAIL command"]
        tls.sendall(b"MAIL FROM:<app@example.com>\r\n")  # a real one opens a transaction
        assert secure.reply() == [b"250 2.1.0 OK"]
    finally:
        sock.close()
        server.stop()


def test_starttls_forgets_the_authentication(smtp: RunningServer) -> None:
    """RFC 3207 4.2: after the handshake the client starts over, AUTH included."""
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"STARTTLS\r\n")
        assert session.reply() == [b"220 2.0.0 Ready to start TLS"]
        secure = RawSession.over(unverified_tls().wrap_socket(session.sock,
                                                              server_hostname="localhost"))
        secure.sock.sendall(b"EHLO client.example\r\nMAIL FROM:<app@example.com>\r\n")
        assert _codes(_replies(secure, 2)) == [b"250", b"530"]
    finally:
        session.close()


def test_tls_handshake_failure_closes_only_that_session(smtp: RunningServer) -> None:
    session = RawSession(smtp.smtp_port)
    try:
        session.reply()
        session.sock.sendall(b"EHLO client.example\r\nSTARTTLS\r\n")
        assert _codes(_replies(session, 2)) == [b"250", b"220"]
        session.sock.sendall(b"this is not a TLS ClientHello\r\n" * 4)
        session.sock.settimeout(20)
        try:
            while session.sock.recv(65536):
                pass
        except TimeoutError:
            pytest.fail("the server kept a session whose TLS handshake failed")
        except ConnectionResetError:
            pass  # closed, as it should be
    finally:
        session.close()
    after = _authenticated(smtp)
    after.sock.sendall(b"NOOP\r\n")
    assert after.reply() == [b"250 2.0.0 OK"]
    after.close()


def test_client_that_does_not_read_its_replies_gets_every_one(smtp: RunningServer) -> None:
    """A client that pipelines 200,000 commands and reads nothing for a while, with small
    socket buffers so the server's replies back up (it stops reading then): when the
    client reads again, every reply comes, in order, none lost."""
    count = 200_000
    sock = socket.socket()
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        sock.setsockopt(socket.SOL_SOCKET, option, 4096)
    sock.settimeout(60)
    sock.connect(("127.0.0.1", smtp.smtp_port))
    try:
        assert sock.recv(1024).startswith(b"220")
        sender = threading.Thread(target=sock.sendall, args=(b"NOOP\r\n" * count + b"QUIT\r\n",))
        sender.start()
        time.sleep(1.0)
        expected = b"250 2.0.0 OK\r\n" * count + b"221 2.0.0 Bye\r\n"
        received = bytearray()
        while len(received) < len(expected):
            chunk = sock.recv(1 << 20)
            assert chunk, f"closed after {len(received)} of {len(expected)} bytes"
            received += chunk
        assert received == expected
        sender.join(timeout=30)
    finally:
        sock.close()


def test_auth_login_answers_pipelined_with_the_command(smtp: RunningServer) -> None:
    token = smtp.server_token.encode()
    session = RawSession(smtp.smtp_port)
    try:
        session.reply()
        session.sock.sendall(b"EHLO client.example\r\nAUTH LOGIN\r\n" + base64.b64encode(token)
                             + b"\r\n" + base64.b64encode(token) + b"\r\nMAIL FROM:<a@b.example>"
                             b"\r\n")
        replies = _replies(session, 5)
        assert [r[-1] for r in replies[1:]] == [
            b"334 VXNlcm5hbWU6", b"334 UGFzc3dvcmQ6", b"235 2.7.0 Authentication successful",
            b"250 2.1.0 OK"]
    finally:
        session.close()


def test_too_many_unknown_commands_end_the_session(smtp: RunningServer) -> None:
    session = RawSession(smtp.smtp_port)
    try:
        session.reply()
        session.sock.sendall(b"BOGUS\r\n" * 5)
        replies = _replies(session, 5)
        assert _codes(replies) == [b"500"] * 4 + [b"502"]
        assert b"goodbye" in replies[-1][-1] and session.reply() is None
    finally:
        session.close()


def test_connection_dropped_inside_data_stores_nothing(smtp: RunningServer) -> None:
    session = _authenticated(smtp)
    session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\nDATA\r\n")
    assert _codes(_replies(session, 3)) == [b"250", b"250", b"354"]
    session.sock.sendall(b"Subject: cut\r\n\r\nhalf a mess")
    session.close()
    after = _authenticated(smtp)
    after.sock.sendall(b"NOOP\r\n")
    assert after.reply() == [b"250 2.0.0 OK"]
    after.close()
    assert smtp.api().get("/messages/outbound", params={"count": 10, "offset": 0}
                          ).json()["TotalCount"] == 0


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_idle_session_is_closed_with_421(loop: str, database_url: str, tmp_path: Path) -> None:
    server = _start(loop, database_url, tmp_path, smtp_idle_timeout_seconds=1)
    try:
        session = RawSession(server.smtp_port)
        session.reply()
        started = time.monotonic()
        session.sock.settimeout(10)
        closing = session.reply()
        assert closing is not None and closing[-1].startswith(b"421"), closing
        assert session.reply() is None
        assert 0.9 <= time.monotonic() - started < 5
        session.close()
        # A session that keeps talking is not cut off.
        busy = _authenticated(server)
        for _ in range(4):
            time.sleep(0.4)
            busy.sock.sendall(b"NOOP\r\n")
            assert busy.reply() == [b"250 2.0.0 OK"]
        busy.close()
    finally:
        server.stop()


def test_nothing_runs_after_quit(smtp: RunningServer) -> None:
    """A whole transaction pipelined after QUIT is not run: the client was told 221 and
    would send the message again elsewhere."""
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"QUIT\r\nMAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>"
                             b"\r\nDATA\r\nSubject: after quit\r\n\r\nx\r\n.\r\n")
        assert session.reply() == [b"221 2.0.0 Bye"]
        assert session.reply() is None
    finally:
        session.close()
    time.sleep(0.3)
    assert smtp.api().get("/messages/outbound", params={"count": 10, "offset": 0}
                          ).json()["TotalCount"] == 0


def test_half_closed_client_gets_every_reply(smtp: RunningServer) -> None:
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\n"
                             b"DATA\r\nSubject: half\r\n\r\nx\r\n.\r\nQUIT\r\n")
        session.sock.shutdown(socket.SHUT_WR)
        replies = _replies(session, 5)
        assert _codes(replies) == [b"250", b"250", b"354", b"250", b"221"]
        assert session.reply() is None
    finally:
        session.close()
    assert _stored_body(smtp, replies[3]) == "Subject: half\r\n\r\nx\r\n"


def test_auth_cancel_failures_and_eof(smtp: RunningServer) -> None:
    session = RawSession(smtp.smtp_port)
    try:
        session.reply()
        session.sock.sendall(b"EHLO client.example\r\nAUTH PLAIN\r\n*\r\nNOOP\r\n")
        assert [r[-1] for r in _replies(session, 4)[1:]] == [
            b"334 ", b"501 5.7.0 Auth aborted", b"250 2.0.0 OK"]
        # Three wrong tokens end the session.
        wrong = _plain("not-a-token")
        session.sock.sendall(b"AUTH PLAIN " + wrong + b"\r\n")
        assert session.reply() == [b"535 5.7.8 Authentication credentials invalid"]
        session.sock.sendall(b"AUTH PLAIN " + wrong + b"\r\nAUTH PLAIN " + wrong + b"\r\n")
        assert _codes(_replies(session, 2)) == [b"535", b"421"]
        assert session.reply() is None
    finally:
        session.close()
    # The client goes away in the middle of an AUTH LOGIN exchange.
    leaving = RawSession(smtp.smtp_port)
    leaving.reply()
    leaving.sock.sendall(b"EHLO client.example\r\nAUTH LOGIN\r\n")
    assert _codes(_replies(leaving, 2)) == [b"250", b"334"]
    leaving.sock.shutdown(socket.SHUT_WR)
    leaving.sock.settimeout(10)
    while leaving.reply() is not None:  # whatever it says, it closes
        pass
    leaving.close()
    after = _authenticated(smtp)
    after.sock.sendall(b"NOOP\r\n")
    assert after.reply() == [b"250 2.0.0 OK"]
    after.close()


def test_a_quoted_line_break_cannot_forge_a_reply(smtp: RunningServer) -> None:
    """The 550 for an unknown stream quotes the stream name, which an encoded word can
    make contain CRLF; the reply stays one line and the session in step."""
    session = _authenticated(smtp)
    try:
        session.sock.sendall(b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\n"
                             b"DATA\r\n")
        assert _codes(_replies(session, 3)) == [b"250", b"250", b"354"]
        session.sock.sendall(b"X-PM-Message-Stream: =?utf-8?Q?x=0D=0A250_2=2E0=2E0_forged?=\r\n"
                             b"Subject: s\r\n\r\nbody\r\n.\r\nNOOP\r\n")
        refusal, noop = _replies(session, 2)
        assert len(refusal) == 1 and refusal[0].startswith(b"550 "), refusal
        assert b"\r" not in refusal[0] and noop == [b"250 2.0.0 OK"]
    finally:
        session.close()

