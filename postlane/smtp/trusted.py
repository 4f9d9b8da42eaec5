"""The submission protocol: token AUTH checked off the event loop, and trusted networks.

Trusted networks are like Postfix's mynetworks: clients on these addresses submit
without AUTH, as one configured server. Off unless configured; meant for applications on
the same host or private network that cannot authenticate (and for load generators)."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import AuthResult

from postlane.domain.types import DeliveryType
from postlane.smtp.handler import PendingCheck, TokenAuthenticator
from postlane.smtp.protocol import PostlaneSMTP
from postlane.store import servers, tokens
from postlane.store.database import Database

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedPeers:
    networks: tuple[Network, ...]
    identity: tuple[int, DeliveryType]

    def covers(self, peer: Any) -> bool:
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer[0])
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def load(db: Database, networks: tuple[str, ...], token: str | None) -> TrustedPeers | None:
    """Resolve the configuration once at start; a bad token stops the listener loudly."""
    if not networks:
        return None
    if not token:
        raise ValueError("smtp_trusted_networks needs smtp_trusted_server_token: the server "
                         "that trusted clients send as")
    with db.read() as conn:
        server_id = tokens.server_id_for_token(conn, token)
        row = servers.get(conn, server_id) if server_id is not None else None
    if row is None:
        raise ValueError("smtp_trusted_server_token is not a server token")
    parsed = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
    return TrustedPeers(parsed, (row["id"], DeliveryType(row["delivery_type"])))


class SubmissionSMTP(PostlaneSMTP):
    """Postlane's SMTP protocol (protocol.py), with server-token checks awaited off the
    event loop, and sessions from trusted networks authenticated up front."""

    def __init__(self, *args: Any, trusted: TrustedPeers | None = None,
                 auth_require_tls: bool = True, **kwargs: Any) -> None:
        # aiosmtpd warns and logs on every connection when AUTH may happen without TLS;
        # we allow that only on loopback listeners (see Settings.auth_requires_tls), so
        # construct as if TLS were required and then apply the real setting.
        super().__init__(*args, auth_require_tls=True, **kwargs)
        self._auth_require_tls = auth_require_tls
        self._trusted = trusted

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_LOGIN(_, args))

    async def _checked(self, result: AuthResult) -> AuthResult:
        """aiosmtpd's result, or, when the authenticator deferred the check (see
        TokenAuthenticator), the outcome of that check, awaited off the event loop."""
        if isinstance(result.auth_data, PendingCheck) and isinstance(
                self._authenticator, TokenAuthenticator):
            return await self._authenticator.verify(result.auth_data)
        return result

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        session = self.session
        if session is not None and self._trusted is not None and self._trusted.covers(
                session.peer):
            session.authenticated = True
            session.auth_data = self._trusted.identity  # type: ignore[assignment]
