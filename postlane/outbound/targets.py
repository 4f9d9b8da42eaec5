"""Webhook targets vetted when connecting (issue 12, item 5): the webhook client resolves
each host itself, checks every address with postlane.domain.network, and connects to an
address it checked, so a name that resolves to loopback or a private network (or is
rebound to one after the URL was saved) never gets a connection.

TLS is unchanged: httpcore takes the SNI name and the name the certificate must carry from
the request's origin (the URL's host), not from the address connected to; httpx sets Host
from the URL as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import httpcore
import httpx

from postlane.config import Settings
from postlane.domain import network

#: Where a localhost name leads without DNS (RFC 6761), IPv4 first like most receivers.
_LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Whether webhooks may reach non-public addresses, and which resolvers answer for
    webhook hosts (none: the system's, hosts file included)."""

    allow_private: bool = False
    nameservers: tuple[str, ...] = ()
    dns_port: int = 53

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        return cls(settings.webhook_private_targets_allowed, settings.dns_nameservers,
                   settings.dns_port)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the check in front of every TCP connection."""

    def __init__(self, policy: TargetPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()
        self._resolver: dns.asyncresolver.Resolver | None = None
        if policy.nameservers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = list(policy.nameservers)
            self._resolver.port = policy.dns_port

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        """Resolve, refuse unless every address may be reached, then connect to the
        checked addresses in turn (within ``timeout`` for the lookup as for httpcore)."""
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"webhook host {host}: DNS lookup timed out") from exc
        if not addresses:
            raise httpcore.ConnectError(f"webhook host {host} has no address")
        refusal = network.vet(host, addresses, self._policy.allow_private)
        if refusal is not None:
            raise httpcore.ConnectError(refusal.sentence("webhook host"))
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout,
                                                     local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses ``host`` leads to: its own for an address in any spelling (what
        the system's inet_aton would read), loopback for localhost names, else DNS."""
        address = network.parse_host(host)
        if address is not None:
            return [str(address)]
        if network.host_kind(host) is not None:  # a localhost name
            return list(_LOOPBACK)
        if self._resolver is not None:
            return await self._dns(host)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return []
        return list(dict.fromkeys(str(info[4][0]) for info in infos))

    async def _dns(self, host: str) -> list[str]:
        assert self._resolver is not None
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            with contextlib.suppress(dns.exception.DNSException):
                answer = await self._resolver.resolve(host, rdtype)
                found.extend(rdata.to_text() for rdata in answer)
        return found

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are posted over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a GuardedBackend. httpx 0.28 (pinned) takes no network backend,
    so the pool it made is replaced by an equal one that has it; env proxies are never
    used (a proxy would do the resolving, past the check)."""

    def __init__(self, policy: TargetPolicy, verify: ssl.SSLContext,
                 limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify, max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, network_backend=GuardedBackend(policy))
