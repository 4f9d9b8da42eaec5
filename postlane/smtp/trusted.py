"""Trusted networks for the submission listener.

Trusted networks are like Postfix's mynetworks: clients on these addresses submit
without AUTH, as one configured server. Off unless configured; meant for applications on
the same host or private network that cannot authenticate (and for load generators)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from postlane.domain.records import Identity
from postlane.store import servers, tokens
from postlane.store.database import Database

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedPeers:
    networks: tuple[Network, ...]
    identity: Identity

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
    return TrustedPeers(parsed, Identity.of(row))
