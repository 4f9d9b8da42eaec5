"""What the SMTP engine and a listener agree on: the listener's options, the records its
handler reads (``Session``, ``Envelope``) and the ``Handler`` it implements.

The engine (session.py and the transport in engine.py) speaks the protocol; the handler
decides who may send, to whom, and stores the message. Both listeners (submission and the
bounce MX) are a handler plus ``Options``.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class TemporaryFailure(Exception):
    """Raised by a handler when it cannot decide now (the database is unreachable)."""


@dataclass
class Session:
    """One connection's facts as the handler sees them. ``peer`` is the transport's
    ``peername`` (``(host, port, ...)`` over TCP); ``identity`` is what the handler
    authenticated the client as, in the handler's own type (the engine only tells None from
    the rest). Both are ``Any`` because handlers read them as their concrete types."""

    peer: Any
    tls: bool = False
    host_name: str | None = None
    extended: bool = False
    identity: Any = None


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Confirm:
    """A handler's answer to MAIL when it must look outside first (the database) before
    it can say yes: the engine runs ``check`` as a task, and MAIL waits for its answer (a
    refusal reply, or None for 250); the commands pipelined after it wait too."""

    check: Callable[[], Awaitable[str | None]]


class Handler(Protocol):
    """What a listener decides. ``mail`` and ``rcpt`` return a refusal reply or None to
    accept; they are plain functions because they run for every message (``mail`` may
    hand out a ``Confirm`` for the rare answer that needs the database)."""

    def connected(self, session: Session) -> None: ...

    def mail(self, session: Session, address: str) -> str | Confirm | None: ...

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None: ...

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str: ...

    async def authenticate(self, login: str, password: str) -> Any: ...


@dataclass(frozen=True)
class Options:
    """One listener's protocol settings."""

    hostname: str
    ident: str
    max_message_bytes: int
    tls_context: ssl.SSLContext | None = None
    #: AUTH is offered and required before MAIL (submission); off for an MX.
    auth: bool = False
    auth_require_tls: bool = True
    #: Seconds the client may be silent (any state but our own work: RFC 5321 4.5.3.2).
    idle_timeout: float = 300.0
    #: Seconds a command line (or AUTH answer) may take, from when the session starts
    #: waiting for it to its line end, however the bytes come: dribbling does not extend it.
    command_timeout: float = 300.0
    #: Seconds from the 354 to the end of the message data.
    data_timeout: float = 600.0
    #: Seconds a whole connection may last (work of ours in progress is finished first).
    session_timeout: float = 3600.0

    @property
    def shortest_timeout(self) -> float:
        """No deadline that starts later can end sooner than this after it starts: how
        long the transport's timer may sleep without missing one (see engine.py)."""
        return min(self.idle_timeout, self.command_timeout, self.data_timeout)
