"""Failed dashboard logins, counted per client address: after too many in a window the
login form refuses further tries for a while, so the account token and the admin
password cannot be guessed at the speed of HTTP.

Kept in memory, per process (each API process counts its own); bounded in size.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, max_failures: int = 10, window_seconds: float = 300.0,
                 max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.max_clients = max_clients
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def wait_seconds(self, client: str) -> float:
        """0 when the client may try; else how long until its oldest failure ages out."""
        recent = self._recent(client)
        if recent is None or len(recent) < self.max_failures:
            return 0.0
        return max(0.0, recent[0] + self.window - self._clock())

    def failed(self, client: str) -> None:
        recent = self._recent(client)
        if recent is None:
            if len(self._failures) >= self.max_clients:
                self._forget_quiet_clients()
            recent = self._failures[client] = deque(maxlen=self.max_failures)
        recent.append(self._clock())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float] | None:
        recent = self._failures.get(client)
        if recent is None:
            return None
        horizon = self._clock() - self.window
        while recent and recent[0] <= horizon:
            recent.popleft()
        return recent

    def _forget_quiet_clients(self) -> None:
        """Drop clients with no failure in the window; if all are active, the oldest."""
        horizon = self._clock() - self.window
        for client in [c for c, times in self._failures.items() if times[-1] <= horizon]:
            del self._failures[client]
        while len(self._failures) >= self.max_clients:
            del self._failures[next(iter(self._failures))]
