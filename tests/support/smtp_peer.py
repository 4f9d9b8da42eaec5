"""A real SMTP server on loopback that answers by rule, standing in for receiving MTAs and
smarthosts: recipients named hard* get 550, full* 452, soft<N>* 451 for their first N
attempts, drop* recipients see the connection closed at RCPT, and a message with a
reject-data* recipient gets 554 at DATA. Options: offer SMTPUTF8 (RFC 6531) or not, and
answer every MAIL FROM with a fixed reply (a server that always defers). It counts the
connections it accepted, and each message received names the connection it came in on."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from postlane.smtp.tls import ensure_self_signed, server_context

_SOFT = re.compile(r"^soft(\d+)")


@dataclass
class Received:
    mail_from: str
    rcpts: list[str]
    content: bytes
    login: str | None
    #: The MAIL FROM parameters (e.g. SMTPUTF8, BODY=8BITMIME), upper-cased.
    mail_options: list[str] = field(default_factory=list)
    #: Which connection carried it (1 for the peer's first), to see sessions reused.
    connection: int = 0


class _Counted(SMTP):
    """aiosmtpd's server, numbered by the connection it serves."""

    def __init__(self, number: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.number = number


@dataclass
class RulePeer:
    hold_seconds: float = 0.0
    require_auth: tuple[str, str] | None = None
    tls_dir: Path | None = None
    #: Offer SMTPUTF8 in the EHLO reply (aiosmtpd refuses UTF-8 addresses without it).
    smtputf8: bool = False
    #: When set, the reply to every MAIL FROM (e.g. "451 4.3.2 Try again later").
    mail_reply: str | None = None
    received: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    max_concurrent: int = 0
    #: How many SMTP connections the peer has accepted.
    connections: int = 0
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    port: int = 0

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        local = address.split("@")[0].lower()
        with self._lock:
            self.attempts[address.lower()] += 1
            seen = self.attempts[address.lower()]
        if local.startswith("drop") and server.transport is not None:
            server.transport.close()  # mid-transaction, with other recipients accepted
            return "421 4.4.2 Closing connection"
        if local.startswith("hard"):
            return "550 5.1.1 No such user here"
        if local.startswith("full"):
            return "452 4.2.2 Mailbox full, try later"
        soft = _SOFT.match(local)
        if soft and seen <= int(soft.group(1)):
            return "451 4.3.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self._active += 1
            self.max_concurrent = max(self.max_concurrent, self._active)
        try:
            if self.hold_seconds:
                await asyncio.sleep(self.hold_seconds)
            if any(r.lower().startswith("reject-data") for r in envelope.rcpt_tos):
                return "554 5.6.0 Message content rejected"
            auth = session.auth_data
            login = auth.login.decode() if isinstance(auth, LoginPassword) else None
            with self._lock:
                self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos),
                                              envelope.original_content or b"", login,
                                              [o.upper() for o in envelope.mail_options],
                                              getattr(server, "number", 0)))
            return "250 2.0.0 Ok: accepted by the peer"
        finally:
            with self._lock:
                self._active -= 1

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.require_auth is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self.require_auth)
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> RulePeer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(100)
        self.port = sock.getsockname()[1]
        context: ssl.SSLContext | None = None
        if self.tls_dir is not None:
            context = server_context(*ensure_self_signed(self.tls_dir, "peer.test"))
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            def factory() -> SMTP:
                with self._lock:
                    self.connections += 1
                    number = self.connections
                return _Counted(number, self, hostname="peer.test", tls_context=context,
                                authenticator=self._authenticate if self.require_auth else None,
                                auth_required=self.require_auth is not None,
                                auth_require_tls=context is not None,
                                enable_SMTPUTF8=self.smtputf8, loop=loop)

            self._server = loop.run_until_complete(loop.create_server(factory, sock=sock))
            ready.set()
            loop.run_forever()
            loop.close()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._server is not None:
            server = self._server
            loop.call_soon_threadsafe(server.close)
            loop.call_soon_threadsafe(loop.stop)

    def messages_to(self, rcpt: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if rcpt in r.rcpts]
