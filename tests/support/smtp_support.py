"""Helpers shared by the SMTP end-to-end tests: real smtplib sessions, servers with custom
settings, and a second, independent view of the database."""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from postlane.store.database import Database
from tests.support.harness import RunningServer, start_server, test_settings

SENDER = "sender@example.com"


@contextlib.contextmanager
def custom_server(database_url: str, data_dir: Path, **overrides: Any) -> Iterator[RunningServer]:
    """A real server with some settings overridden, stopped on exit."""
    running = start_server(test_settings(database_url, data_dir, **overrides))
    try:
        yield running
    finally:
        running.stop()


def send_raw(server: RunningServer, raw: bytes,
             rcpt: str = "rcpt@example.com") -> tuple[int, str]:
    """One authenticated session that sends ``raw`` as it is; the DATA reply, refused or
    not."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.login(server.server_token, server.server_token)
        smtp.mail(SENDER)
        smtp.rcpt(rcpt)
        try:
            code, reply = smtp.data(raw)
        except smtplib.SMTPDataError as exc:
            code, reply = exc.smtp_code, exc.smtp_error
    return code, reply.decode()


def unverified_tls() -> ssl.SSLContext:
    """A client context that accepts the self-signed development certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@contextlib.contextmanager
def session(server: RunningServer, token: str | None = None) -> Iterator[smtplib.SMTP]:
    """An smtplib session after EHLO; authenticated with ``token`` (the server token by
    default) unless ``token`` is the empty string."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.ehlo("client.example.com")
        if token != "":
            value = token or server.server_token
            smtp.login(value, value)
        yield smtp


def transmit(smtp: smtplib.SMTP, msg: EmailMessage | bytes, rcpts: Sequence[str],
             sender: str = SENDER, options: Sequence[str] = ()) -> tuple[int, str]:
    """MAIL, RCPT each recipient (all must be accepted), DATA: the DATA reply."""
    code, reply = smtp.mail(sender, list(options))
    assert code == 250, reply
    for rcpt in rcpts:
        code, reply = smtp.rcpt(rcpt)
        assert code == 250, (rcpt, reply)
    raw = msg if isinstance(msg, bytes) else wire(msg)
    code, reply = smtp.data(raw)
    return code, reply.decode()


def wire(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends (smtplib sends bytes as given)."""
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


def message_id(reply: str) -> str:
    """The MessageID a 250 reply names; it must be a GUID."""
    candidate = reply.rsplit(" ", 1)[-1]
    assert str(uuid.UUID(candidate)) == candidate, reply
    return candidate


@contextlib.contextmanager
def database(server: RunningServer) -> Iterator[Database]:
    """A Database of its own on the server's storage (not the server's engine)."""
    db = Database(server.app.settings.effective_database_url, pool_size=2)
    try:
        yield db
    finally:
        db.close()


def count_rows(server: RunningServer, table: sa.Table, *where: Any) -> int:
    with database(server) as db, db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(*where)).scalar_one())


REPLY_LINE = re.compile(rb"^[2-5]\d\d[ -][\t\x20-\x7e\x80-\xff]*$")  # RFC 5321 textstring


class RawSession:
    """A plain socket speaking line by line, with one reply read per line sent."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buffer = b""

    @classmethod
    def over(cls, sock: socket.socket) -> RawSession:
        """A session on a socket of the caller's (one wrapped in TLS, say)."""
        session = cls.__new__(cls)
        session.sock, session.buffer = sock, b""
        return session

    def close(self) -> None:
        self.sock.close()

    def _line(self) -> bytes | None:
        while b"\r\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self) -> list[bytes] | None:
        """All lines of one reply (continuations end with '-'), or None at EOF."""
        lines: list[bytes] = []
        while True:
            line = self._line()
            if line is None:
                assert not lines, f"connection closed inside a multi-line reply {lines!r}"
                return None
            assert REPLY_LINE.match(line), f"malformed reply line {line!r}"
            assert len(line) <= 510, f"reply line over 512 octets: {line[:80]!r}..."
            lines.append(line)
            if line[3:4] == b" ":
                assert len({ln[:3] for ln in lines}) == 1, f"mixed codes in {lines!r}"
                return lines

    def send(self, line: bytes) -> bool:
        try:
            self.sock.sendall(line + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True
