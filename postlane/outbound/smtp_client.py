"""Outbound SMTP transactions with per-recipient results (aiosmtplib), several per
session (RFC 5321 §4.1.4).

Only what the receiving server says about a recipient (RCPT or DATA) can make a
permanent failure; connection, TLS, AUTH and MAIL FROM trouble is ours or the network's,
so it is always temporary: a relay misconfiguration must never suppress recipients.

Internationalised addresses (RFC 6531): a non-ASCII domain goes out in its ASCII form
(IDNA A-labels, as the MX lookup spells it); a non-ASCII local part needs a next hop that
offers SMTPUTF8, and without one that recipient alone fails for good (``UNSUPPORTED``:
the path's fault, not the address's). Whatever goes wrong, every recipient gets a result:
an unexpected error is a temporary failure of the recipients it left unsettled.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import aiosmtplib
import dns.exception
import dns.name

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    DELIVERED = "delivered"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    #: Permanent for this recipient on this path (the next hop lacks SMTPUTF8): a bounce,
    #: never held against the address (no suppression).
    UNSUPPORTED = "unsupported"


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


#: At most this many mail transactions in one SMTP session (RSET, MAIL, RCPT, DATA again:
#: RFC 5321 §4.1.4), then a new one, as Postfix's smtp_connection_reuse_count_limit does:
#: reuse saves a TCP, EHLO and TLS handshake per recipient, and the bound keeps one
#: session from holding a destination's slot for ever.
MAX_TRANSACTIONS_PER_SESSION = 100

#: One mail transaction: its envelope sender and its recipients.
Transaction = tuple[str, Sequence[str]]


async def transact(peer: Peer, helo: str, mail_from: str, rcpts: Sequence[str], raw: bytes,
                   timeout: float) -> dict[str, RcptResult]:
    """Deliver ``raw`` to ``rcpts`` through ``peer``; every recipient gets a result."""
    return await transact_each(peer, helo, [(mail_from, rcpts)], raw, timeout)


async def transact_each(peer: Peer, helo: str, transactions: Sequence[Transaction],
                        raw: bytes, timeout: float) -> dict[str, RcptResult]:
    """Deliver ``raw`` in each transaction, in order, as many as possible per session (the
    caller keeps a batch within MAX_TRANSACTIONS_PER_SESSION); every recipient gets a
    result. One transaction's refusal does not stop the next; when the server hangs up
    in one, the rest go on in a new session, so a recipient that makes it hang up cannot
    hold back the others on every retry. Each session settles at least one transaction,
    so this ends."""
    results: dict[str, RcptResult] = {}
    todo = list(transactions)
    while todo:
        todo = await _session(peer, helo, todo, raw, timeout, results)
    return results


async def _session(peer: Peer, helo: str, todo: list[Transaction], raw: bytes,
                   timeout: float, results: dict[str, RcptResult]) -> list[Transaction]:
    """One session for ``todo``; returns the transactions left for a new one. A session
    that cannot be set up (connect, TLS, AUTH, EHLO) or that times out gives every
    recipient it left unsettled a temporary failure, and leaves nothing for another."""
    client: aiosmtplib.SMTP | None = None
    everyone = [rcpt for _, rcpts in todo for rcpt in rcpts]
    try:
        client = aiosmtplib.SMTP(
            hostname=peer.host, port=peer.port, local_hostname=helo, timeout=timeout,
            use_tls=peer.use_tls, start_tls=peer.start_tls, validate_certs=peer.validate_certs,
            username=peer.username, password=peer.password, tls_context=peer.tls_context)
        await client.connect()
        ip = _peer_ip(client)
        await _greet(client)
        for index, (mail_from, rcpts) in enumerate(todo):
            if not await _one(client, peer, ip, index > 0, mail_from, rcpts, raw, results):
                return todo[index + 1:]
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        _unsettled(results, everyone, peer, *_failure(exc))
    except Exception as exc:  # a bug or a library surprise: ours, so temporary, never lost
        log.exception("SMTP session with %s failed unexpectedly", peer.label)
        _unsettled(results, everyone, peer, 0, f"Unexpected error: {type(exc).__name__}: {exc}")
    finally:
        if client is not None and client.is_connected:
            client.close()
    return []


async def _one(client: aiosmtplib.SMTP, peer: Peer, ip: str, again: bool, mail_from: str,
               rcpts: Sequence[str], raw: bytes, results: dict[str, RcptResult]) -> bool:
    """One transaction (after RSET when ``again``); True while the session can go on.
    Its own trouble (a refused MAIL FROM, a hang-up) is a temporary failure of its
    unsettled recipients alone; a timeout is the session's (raised)."""
    try:
        if again:
            await client.rset()
        await _envelope_and_data(client, peer, ip, mail_from, rcpts, raw, results)
    except TimeoutError:
        raise
    except (aiosmtplib.SMTPException, OSError) as exc:
        _unsettled(results, rcpts, peer, *_failure(exc))
    return client.is_connected


def _failure(exc: BaseException) -> tuple[int, str]:
    """The reply code (0 for none) and the text of a failed command or connection."""
    return (int(getattr(exc, "code", 0) or 0),
            f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}")


def _unsettled(results: dict[str, RcptResult], rcpts: Sequence[str], peer: Peer, code: int,
               text: str) -> None:
    """A temporary failure for each recipient that has no result yet."""
    for rcpt in rcpts:
        results.setdefault(rcpt, RcptResult(Verdict.TRANSIENT, code, text, peer.label))


async def _envelope_and_data(client: aiosmtplib.SMTP, peer: Peer, ip: str, mail_from: str,
                             rcpts: Sequence[str], raw: bytes,
                             results: dict[str, RcptResult]) -> None:
    """MAIL, RCPT for each recipient the peer can take, then DATA if any was accepted."""
    utf8 = client.supports_extension("smtputf8")
    sender = envelope_form(mail_from, utf8)
    if isinstance(sender, RcptResult):  # our envelope sender: our problem, so temporary
        _unsettled(results, rcpts, peer, 0, f"envelope sender {mail_from!r}: {sender.text}")
        return
    wire = _spell(rcpts, utf8, peer, results)
    if not wire:
        return
    options = _mail_options(client, [sender, *wire.values()], raw)
    encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
    await client.mail(sender, options=options, encoding=encoding)
    accepted = [rcpt for rcpt, spelled in wire.items()
                if await _rcpt(client, rcpt, spelled, encoding, peer, results)]
    if not accepted:
        return
    try:
        reply = await client.data(raw)
    except aiosmtplib.SMTPDataError as exc:
        results.update(dict.fromkeys(accepted, _by_code(exc.code, exc.message, peer)))
        return
    results.update(dict.fromkeys(accepted, RcptResult(Verdict.DELIVERED, reply.code,
                                                      reply.message, peer.label, ip)))


def _spell(rcpts: Sequence[str], utf8: bool, peer: Peer,
           results: dict[str, RcptResult]) -> dict[str, str]:
    """Each recipient as it goes in RCPT; those this peer cannot take get their result."""
    wire: dict[str, str] = {}
    for rcpt in rcpts:
        spelled = envelope_form(rcpt, utf8)
        if isinstance(spelled, RcptResult):
            results[rcpt] = RcptResult(spelled.verdict, spelled.code, spelled.text, peer.label)
        else:
            wire[rcpt] = spelled
    return wire


async def _rcpt(client: aiosmtplib.SMTP, rcpt: str, spelled: str, encoding: str, peer: Peer,
                results: dict[str, RcptResult]) -> bool:
    """One RCPT: True when accepted, else the recipient's result is recorded."""
    try:
        await client.rcpt(spelled, encoding=encoding)
        return True
    except aiosmtplib.SMTPRecipientRefused as exc:
        results[rcpt] = _by_code(exc.code, exc.message, peer)
    except ValueError as exc:  # refused before it was written: the session goes on
        results[rcpt] = RcptResult(Verdict.PERMANENT, 553,
                                   f"5.1.3 Not sent: the address cannot be written in an "
                                   f"SMTP command ({exc})", peer.label)
    return False


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO (HELO for a server without ESMTP) unless connecting did it already (it does
    for STARTTLS and AUTH): the extensions offered decide how addresses are spelled."""
    if client.is_ehlo_or_helo_needed:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:
            if not client.is_connected:
                raise
            await client.helo()


def _mail_options(client: aiosmtplib.SMTP, addresses: Sequence[str], raw: bytes) -> list[str]:
    """SMTPUTF8 when an address or the header needs it and the peer offers it (RFC 6531);
    BODY=8BITMIME for 8-bit content where offered (RFC 6152)."""
    options: list[str] = []
    head = raw.partition(b"\r\n\r\n")[0] if b"\r\n\r\n" in raw else raw.partition(b"\n\n")[0]
    if client.supports_extension("smtputf8") and not (
            all(a.isascii() for a in addresses) and head.isascii()):
        options.append("SMTPUTF8")
    if client.supports_extension("8bitmime") and not raw.isascii():
        options.append("BODY=8BITMIME")
    return options


#: What a recipient with a non-ASCII local part gets from a next hop without SMTPUTF8.
NEEDS_SMTPUTF8 = RcptResult(
    Verdict.UNSUPPORTED, 553,
    "5.6.7 Not sent: the receiving server does not offer SMTPUTF8 (RFC 6531), which this "
    "internationalised address needs")


def envelope_form(address: str, smtputf8: bool) -> str | RcptResult:
    """How ``address`` is spelled in MAIL or RCPT: as given when ASCII or when the peer
    offers SMTPUTF8; else with its domain in IDNA A-labels, or a permanent result when
    its local part is not ASCII (it has no ASCII form) or its domain has none either."""
    if address.isascii() or smtputf8:
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local.isascii():
        return NEEDS_SMTPUTF8
    try:
        ascii_domain = dns.name.from_unicode(domain).to_text(omit_final_dot=True)
    except dns.exception.DNSException as exc:
        return RcptResult(Verdict.PERMANENT, 553,
                          f"5.1.3 The domain {domain!r} has no ASCII (IDNA) form: {exc}")
    return f"{local}@{ascii_domain}"


def _peer_ip(client: aiosmtplib.SMTP) -> str:
    transport = getattr(client, "transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if peer else ""
