"""Driving the sans-I/O SMTP session (postlane/smtp/session.py) with bytes: a handler that
records what the session asked it and refuses what it is told to, and a machine whose
clocks stand still (the wall clock for exact trace headers, the deadlines' clock until a
test moves it)."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from postlane.smtp.contract import Envelope, Options, Session
from postlane.smtp.session import SessionMachine
from postlane.smtp.states import Event

HOSTNAME = "mx.postlane.test"
PEER = ("192.0.2.1", 40000)
#: Thu, 01 Jan 1970 00:00:00 +0000 in every trace header.
NOW = 0.0
DATE = "Thu, 01 Jan 1970 00:00:00 +0000"
GREETING = b"220 mx.postlane.test Postlane ESMTP\r\n"
#: AUTH PLAIN's initial response for login "tok", password "tok".
PLAIN_TOK = b"AHRvawB0b2s="


@dataclass
class FakeHandler:
    """Records every call; ``trusted`` authenticates each session on connect (as trusted
    networks do); ``refusals`` maps an address to the reply refusing it."""

    trusted: Any = None
    refusals: dict[str, str] = field(default_factory=dict)
    sessions: list[Session] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def connected(self, session: Session) -> None:
        self.sessions.append(session)
        if self.trusted is not None:
            session.identity = self.trusted

    def mail(self, session: Session, address: str) -> str | None:
        self.calls.append(("mail", address))
        return self.refusals.get(address)

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None:
        self.calls.append(("rcpt", address))
        return self.refusals.get(address)

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str:
        raise AssertionError("the session hands DATA out as an event, it never awaits")

    async def authenticate(self, login: str, password: str) -> Any:
        raise AssertionError("the session hands AUTH out as an event, it never awaits")


@dataclass
class SteppedClock:
    """The deadlines' clock, moved by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def options(**overrides: Any) -> Options:
    """A submission listener's options: AUTH required (not only over TLS), STARTTLS
    offered, 1000-byte messages."""
    values: dict[str, Any] = {
        "hostname": HOSTNAME, "ident": "Postlane ESMTP", "max_message_bytes": 1000,
        "tls_context": ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), "auth": True,
        "auth_require_tls": False}
    values.update(overrides)
    return Options(**values)


def machine(handler: FakeHandler | None = None, now: Callable[[], float] | None = None,
            **overrides: Any) -> SessionMachine:
    """A session just connected; its greeting is already taken. ``now`` is the
    deadlines' clock (a SteppedClock of its own by default)."""
    made = SessionMachine(options(**overrides), handler or FakeHandler(), PEER,
                          clock=lambda: NOW, now=now or SteppedClock())
    assert made.take_output() == GREETING
    return made


def talk(session: SessionMachine, data: bytes) -> tuple[bytes, Event | None]:
    """Send ``data``; what the session answers and the event it returns."""
    session.receive(data)
    event = session.process()
    return session.take_output(), event


def say(session: SessionMachine, data: bytes) -> bytes:
    """Send ``data`` that needs no work outside; the replies."""
    output, event = talk(session, data)
    assert event is None, (data, event)
    return output


def authenticated(handler: FakeHandler | None = None, now: Callable[[], float] | None = None,
                  **overrides: Any) -> SessionMachine:
    """After EHLO and a successful AUTH PLAIN."""
    session = machine(handler, now, **overrides)
    say(session, b"EHLO client.example\r\n")
    _, event = talk(session, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n")
    assert event is not None
    session.authenticated("identity")
    assert session.take_output() == b"235 2.7.0 Authentication successful\r\n"
    return session


def in_transaction(session: SessionMachine, *rcpts: str) -> None:
    """MAIL and RCPT for each recipient, all accepted."""
    expected = b"250 2.1.0 OK\r\n" + b"250 2.1.5 OK\r\n" * len(rcpts)
    assert say(session, b"MAIL FROM:<app@example.com>\r\n" + b"".join(
        b"RCPT TO:<" + r.encode() + b">\r\n" for r in rcpts)) == expected


def trace(protocol: str, rcpt: str | None = "rcpt@example.com",
          helo: str = "client.example") -> bytes:
    """The Received header the session writes in front of a message."""
    target = f"\r\n\tfor <{rcpt}>" if rcpt else ""
    return (f"Received: from {helo} ([192.0.2.1])\r\n\tby {HOSTNAME} (Postlane) with "
            f"{protocol}{target}; {DATE}\r\n").encode()


#: The trace header in front of a message an authenticated EHLO client sent over loopback.
_LOOPBACK_TRACE = re.compile(
    r"Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n\tby localhost \(Postlane\) "
    r"with ESMTPS?A\r\n\tfor <[^>]+>; [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} [\d:]{8} \+0000\r\n")


def without_trace(stored: str) -> str:
    """A stored message (the API's dump) without its trace header, checked on the way."""
    found = _LOOPBACK_TRACE.match(stored)
    assert found is not None, stored[:300]
    return stored[found.end():]
