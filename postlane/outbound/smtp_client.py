"""One outbound SMTP transaction with per-recipient results (aiosmtplib).

Only what the receiving server says about a recipient (RCPT or DATA) can make a
permanent failure; connection, TLS, AUTH and MAIL FROM trouble is ours or the network's,
so it is always temporary: a relay misconfiguration must never suppress recipients.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import aiosmtplib


class Verdict(StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class RcptResult:
    verdict: Verdict
    code: int
    text: str
    server: str = ""
    ip: str = ""

    @property
    def summary(self) -> str:
        return f"{self.code} {self.text}".strip() if self.code else self.text


@dataclass(frozen=True)
class Peer:
    host: str
    port: int
    use_tls: bool = False
    #: None: STARTTLS when offered (MX style); True: required; False: never.
    start_tls: bool | None = None
    validate_certs: bool = False
    username: str | None = None
    password: str | None = None
    tls_context: ssl.SSLContext | None = None
    #: The name shown in results (an MX host name when ``host`` is its address).
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.host


def _by_code(code: int, text: str, peer: Peer) -> RcptResult:
    verdict = Verdict.PERMANENT if 500 <= code < 600 else Verdict.TRANSIENT
    return RcptResult(verdict, code, text, peer.label)


async def transact(peer: Peer, helo: str, mail_from: str, rcpts: Sequence[str], raw: bytes,
                   timeout: float) -> dict[str, RcptResult]:
    """Deliver ``raw`` to ``rcpts`` through ``peer``; every recipient gets a result."""
    results: dict[str, RcptResult] = {}
    client = aiosmtplib.SMTP(
        hostname=peer.host, port=peer.port, local_hostname=helo, timeout=timeout,
        use_tls=peer.use_tls, start_tls=peer.start_tls, validate_certs=peer.validate_certs,
        username=peer.username, password=peer.password, tls_context=peer.tls_context)
    try:
        await client.connect()
        ip = _peer_ip(client)
        await client.mail(mail_from)
        accepted = []
        for rcpt in rcpts:
            try:
                await client.rcpt(rcpt)
                accepted.append(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                results[rcpt] = _by_code(exc.code, exc.message, peer)
        if accepted:
            try:
                reply = await client.data(raw)
                for rcpt in accepted:
                    results[rcpt] = RcptResult(Verdict.DELIVERED, reply.code, reply.message,
                                               peer.label, ip)
            except aiosmtplib.SMTPDataError as exc:
                for rcpt in accepted:
                    results[rcpt] = _by_code(exc.code, exc.message, peer)
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        code = getattr(exc, "code", 0) or 0
        text = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
        for rcpt in rcpts:
            results.setdefault(rcpt, RcptResult(Verdict.TRANSIENT, int(code), text,
                                                peer.label))
    finally:
        if client.is_connected:
            client.close()
    return results


def _peer_ip(client: aiosmtplib.SMTP) -> str:
    transport = getattr(client, "transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if peer else ""
