"""A listener's session caps: at most ``max_sessions`` at once, and at most
``max_per_client`` from one client address (Postfix's smtpd_client_connection_count_limit;
clients in the trusted networks are exempt, as Postfix exempts mynetworks).

The transport (engine.py) asks as each connection is made, before the session exists: a
connection over a cap is answered ``421 4.7.0`` instead of the greeting and closed
without a byte of it read. Its descriptor is free again within the loop pass that
accepted it, so what the caps refuse holds at most a pass's worth of accepts (the
listen backlog, listener.BACKLOG) at a time: runtime.session_caps sizes the caps below
the descriptor limit with that and more to spare, so idle SMTP sockets cannot starve
the HTTP API, which shares the process's descriptors, of any to accept with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from postlane.domain import network


@dataclass
class Admission:
    """The session counts of one listener: in total and per client address."""

    max_sessions: int
    max_per_client: int
    #: Client addresses exempt from the per-client cap (the trusted networks).
    exempt: Callable[[Any], bool] = lambda peer: False
    active: int = 0
    per_client: dict[str, int] = field(default_factory=dict)

    def refusal(self, peer: Any) -> bool | None:
        """None when the client may have a session; else True when its own address is
        over its cap, False when the listener is full."""
        if self.active >= self.max_sessions:
            return False
        host = _host(peer)
        if self.per_client.get(host, 0) >= self.max_per_client and not self.exempt(peer):
            return True
        return None

    def admit(self, peer: Any) -> Callable[[], None]:
        """Count a session in; the function returned counts it out (once)."""
        host = _host(peer)
        self.active += 1
        self.per_client[host] = self.per_client.get(host, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.active -= 1
            left = self.per_client[host] - 1
            if left:
                self.per_client[host] = left
            else:
                del self.per_client[host]

        return release


def _host(peer: Any) -> str:
    """The client a transport's ``peername`` counts as (an IPv6 one by its /64: one
    host could otherwise fill the listener from addresses of its own subnet)."""
    return network.client_key(peer)
