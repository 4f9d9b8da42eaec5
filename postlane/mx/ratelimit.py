"""How many reports one client may send the bounce MX: a token bucket per client address.

The state is in this process only: each bounce-MX process (``--roles inbound`` started N
times) allows a client its rate on its own, so a scale-out of N processes behind one name
lets a client send up to N times the rate. That is enough to stop one host flooding the
report table, which is the point; it is not an accounting of reports.

An IPv6 client counts by its /64 (a host is usually given a whole /64, and could send
from a new address each time otherwise). Memory is bounded: past ``max_clients`` the
client seen least recently is forgotten (it starts again with a full bucket).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from postlane.domain.network import client_key

#: Clients remembered at once; each costs a few hundred bytes.
MAX_CLIENTS = 10_000


class ClientBuckets:
    """``per_minute`` reports per client, in bursts of up to a minute's worth; 0: no limit.
    ``clock`` is injectable so the rule can be tested without waiting."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_CLIENTS) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_clients = max_clients
        #: client -> (tokens left, when last counted); least recently seen first.
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, peer: Any) -> bool:
        """Take one token for ``peer``'s client, if it has one left."""
        if self.per_minute <= 0:
            return True
        key, now = client_key(peer), self.clock()
        tokens, last = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * self.per_minute / 60)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        while len(self._buckets) > self.max_clients:
            del self._buckets[next(iter(self._buckets))]
        return allowed
