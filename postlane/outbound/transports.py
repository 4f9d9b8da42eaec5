"""Outbound transports for Live servers: a configured smarthost relay, or direct to each
recipient domain's MX hosts, with a cap on concurrent sessions per domain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import dns.asyncresolver
import dns.exception
import dns.resolver

from postlane.config import Settings
from postlane.domain import network
from postlane.outbound.smtp_client import (
    MAX_TRANSACTIONS_PER_SESSION,
    Peer,
    RcptResult,
    Transaction,
    Verdict,
    transact_each,
)

log = logging.getLogger(__name__)


class Transport(Protocol):
    async def send_each(self, transactions: Sequence[Transaction],
                        raw: bytes) -> dict[str, RcptResult]:
        """``raw`` in each (mail_from, rcpts) transaction; a result for every recipient.
        The transactions to one destination share sessions (up to
        MAX_TRANSACTIONS_PER_SESSION each), within the per-destination cap."""
        ...


def batches(transactions: Sequence[Transaction]) -> list[list[Transaction]]:
    """The transactions cut into runs of at most MAX_TRANSACTIONS_PER_SESSION, one session
    each, in their order."""
    size = MAX_TRANSACTIONS_PER_SESSION
    return [list(transactions[i:i + size]) for i in range(0, len(transactions), size)]


async def _merged(parts: Sequence[Awaitable[dict[str, RcptResult]]]) -> dict[str, RcptResult]:
    return {rcpt: result for part in await asyncio.gather(*parts)
            for rcpt, result in part.items()}


class DomainLimiter:
    """At most ``limit`` concurrent sessions per destination, per worker process."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(limit))

    @contextlib.asynccontextmanager
    async def slot(self, destination: str) -> AsyncIterator[None]:
        async with self._slots[destination.lower()]:
            yield


def parse_relay_url(url: str) -> Peer:
    """smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=require to insist),
    smtps://user:pass@host:465 (implicit TLS); ?verify=false skips certificate checks."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("relay_url must look like smtp://user:pass@host:587 or smtps://…")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    start_tls: bool | None = None
    if query.get("starttls") in ("require", "true"):
        start_tls = True
    elif query.get("starttls") in ("never", "false"):
        start_tls = False
    return Peer(host=parts.hostname, port=parts.port or (465 if implicit else 587),
                use_tls=implicit, start_tls=False if implicit else start_tls,
                validate_certs=query.get("verify", "true") != "false",
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None)


class RelayTransport:
    """Everything through one smarthost, which does its own routing and retries."""

    def __init__(self, peer: Peer, helo: str, timeout: float, limiter: DomainLimiter) -> None:
        self.peer, self.helo, self.timeout, self.limiter = peer, helo, timeout, limiter

    async def send_each(self, transactions: Sequence[Transaction],
                        raw: bytes) -> dict[str, RcptResult]:
        return await _merged([self._session(batch, raw) for batch in batches(transactions)])

    async def _session(self, batch: list[Transaction], raw: bytes) -> dict[str, RcptResult]:
        async with self.limiter.slot(self.peer.host):
            return await transact_each(self.peer, self.helo, batch, raw, self.timeout)


class MxTransport:
    """Direct delivery: per recipient domain, its MX hosts in preference order."""

    def __init__(self, settings: Settings, limiter: DomainLimiter) -> None:
        self.settings, self.limiter = settings, limiter
        self.resolver = dns.asyncresolver.Resolver(configure=not settings.dns_nameservers)
        if settings.dns_nameservers:
            self.resolver.nameservers = list(settings.dns_nameservers)
            self.resolver.port = settings.dns_port
        self.resolver.lifetime = settings.delivery_timeout_seconds

    async def send_each(self, transactions: Sequence[Transaction],
                        raw: bytes) -> dict[str, RcptResult]:
        by_domain: dict[str, list[Transaction]] = defaultdict(list)
        for mail_from, rcpts in transactions:  # a transaction per domain it reaches
            split: dict[str, list[str]] = defaultdict(list)
            for rcpt in rcpts:
                split[rcpt.rpartition("@")[2].lower()].append(rcpt)
            for domain, piece in split.items():
                by_domain[domain].append((mail_from, piece))
        results: dict[str, RcptResult] = {}
        groups = list(by_domain.items())
        # One domain's surprise must not lose the others' results (they were sent).
        parts = await asyncio.gather(*(self._domain(d, group, raw) for d, group in groups),
                                     return_exceptions=True)
        for (domain, group), part in zip(groups, parts, strict=True):
            if isinstance(part, BaseException):
                if not isinstance(part, Exception):
                    raise part
                log.error("delivery to %s failed unexpectedly", domain, exc_info=part)
                text = f"Unexpected error delivering to {domain}: {type(part).__name__}: {part}"
                failed = RcptResult(Verdict.TRANSIENT, 0, text)
                part = {rcpt: failed for _, rcpts in group for rcpt in rcpts}
            results.update(part)
        return results

    async def _domain(self, domain: str, transactions: list[Transaction],
                      raw: bytes) -> dict[str, RcptResult]:
        rcpts = [rcpt for _, group in transactions for rcpt in group]
        hosts, failure = await self.mx_hosts(domain)
        if failure is not None:
            return dict.fromkeys(rcpts, failure)
        pairs, refused = await self.addresses(hosts)
        if not pairs and refused is not None:
            return dict.fromkeys(rcpts, refused)
        return await _merged([self._session(domain, pairs, batch, raw)
                              for batch in batches(transactions)])

    async def _session(self, domain: str, pairs: list[tuple[str, str]],
                       batch: list[Transaction], raw: bytes) -> dict[str, RcptResult]:
        """One batch to the first MX host that answers, within the domain's cap."""
        unreachable = RcptResult(Verdict.TRANSIENT, 0, f"no MX host of {domain} answered")
        last = {rcpt: unreachable for _, rcpts in batch for rcpt in rcpts}
        async with self.limiter.slot(domain):
            for host, address in pairs:
                peer = Peer(host=address, port=self.settings.mx_port, name=host)
                last = await transact_each(peer, self.settings.smtp_hostname, batch, raw,
                                           self.settings.delivery_timeout_seconds)
                # Try the next MX only when this one could not be reached at all.
                if any(r.code for r in last.values()) or all(
                        r.verdict is not Verdict.TRANSIENT for r in last.values()):
                    break
        return last

    async def addresses(self, hosts: list[str]
                        ) -> tuple[list[tuple[str, str]], RcptResult | None]:
        """(name, address) pairs in MX order, resolved with the same resolver as the MX,
        without the hosts that resolve to a non-public address (any one of theirs) unless
        delivery_allow_private_mx; and the first such refusal, the recipients' bounce
        when no host is left. Nothing connects to a refused host."""
        pairs: list[tuple[str, str]] = []
        refused: RcptResult | None = None
        for host in hosts:
            found = await self._resolve(host)
            refusal = network.vet(host, found, self.settings.delivery_allow_private_mx)
            if refusal is None:
                pairs.extend((host, address) for address in found)
            elif refused is None:
                refused = RcptResult(Verdict.PERMANENT, 550,
                                     f"5.4.4 {refusal.sentence('MX host')}")
        return pairs, refused

    async def _resolve(self, host: str) -> list[str]:
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = await self.resolver.resolve(host, rdtype)
            except dns.exception.DNSException:
                continue
            found.extend(rdata.to_text() for rdata in answer)
        return found

    async def mx_hosts(self, domain: str) -> tuple[list[str], RcptResult | None]:
        try:
            answer = await self.resolver.resolve(domain, "MX")
            records = sorted(answer, key=lambda r: r.preference)
            hosts = [str(r.exchange).rstrip(".") for r in records]
            if hosts == [""]:  # RFC 7505 null MX: the domain accepts no mail
                return [], RcptResult(Verdict.PERMANENT, 556,
                                      f"5.1.10 {domain} does not accept mail (null MX)")
            return hosts, None
        except dns.resolver.NXDOMAIN:
            return [], RcptResult(Verdict.PERMANENT, 550, f"5.1.2 domain {domain} does not exist")
        except dns.resolver.NoAnswer:
            return [domain], None  # no MX: the domain itself is the implicit MX (RFC 5321)
        except dns.exception.DNSException as exc:
            return [], RcptResult(Verdict.TRANSIENT, 0, f"DNS lookup for {domain} failed: {exc}")


def build(settings: Settings) -> Transport:
    limiter = DomainLimiter(settings.delivery_concurrency_per_domain)
    if settings.relay_url:
        return RelayTransport(parse_relay_url(settings.relay_url), settings.smtp_hostname,
                              settings.delivery_timeout_seconds, limiter)
    return MxTransport(settings, limiter)
