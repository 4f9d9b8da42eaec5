"""Trusted networks for the submission listener.

Trusted networks are like Postfix's mynetworks: clients on these addresses submit
without AUTH, as the server of one configured token. Off unless configured; meant for
applications on the same host or private network that cannot authenticate (and for load
generators).

The token is checked once at start (a bad one stops the listener loudly) and again, by
the rule AUTH clients meet (senders.py), at MAIL and in the transaction that accepts
each message: a server whose SMTP is switched off, or a token that no longer names a
server, is refused from the next message on, without a restart. Checked in the accept
transaction rather than in a read of its own, it costs one lookup per group commit, not
a thread-pool round trip per message (the ingest benchmark submits thousands a second
as a trusted client).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from postlane.domain.records import Identity
from postlane.services import identity
from postlane.smtp.senders import Sender
from postlane.store.database import Database

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedPeers:
    networks: tuple[Network, ...]
    #: The trusted clients' session identity: who they send as, and the token whose
    #: standing is checked at MAIL and in each accept (senders.py).
    sender: Sender

    def covers(self, peer: Any) -> bool:
        if not peer:
            return False
        try:
            address = ipaddress.ip_address(peer[0])
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def load(db: Database, networks: tuple[str, ...], token: str | None) -> TrustedPeers | None:
    """Check the configuration once at start; a bad token stops the listener loudly."""
    if not networks:
        return None
    if not token:
        raise ValueError("smtp_trusted_networks needs smtp_trusted_server_token: the server "
                         "that trusted clients send as")
    server = identity.server_for_token(db, token)
    if server is None:
        raise ValueError("smtp_trusted_server_token is not a server token")
    parsed = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
    return TrustedPeers(parsed, Sender(Identity.of(server), token, trusted=True))
