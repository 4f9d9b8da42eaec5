"""What the SMTP engine and a listener agree on: the listener's options, the records its
handler reads (``Session``, ``Envelope``) and the ``Handler`` it implements.

The engine (session.py and the transport in engine.py) speaks the protocol; the handler
decides who may send, to whom, and stores the message. Both listeners (submission and the
bounce MX) are a handler plus ``Options``.
"""

from __future__ import annotations

import ssl
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


class Handler(Protocol):
    """What a listener decides. ``mail`` and ``rcpt`` return a refusal reply or None to
    accept; they are plain functions because they run for every message."""

    def connected(self, session: Session) -> None: ...

    def mail(self, session: Session, address: str) -> str | None: ...

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
    idle_timeout: float = 300.0
