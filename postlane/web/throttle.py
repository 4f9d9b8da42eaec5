"""Dashboard login attempts, counted so that the account token and the admin password
cannot be guessed at the speed of HTTP, and so that guessing cannot lock the real admin out.

Design:
- What is counted is the attempt, not the failure. ``attempt`` reserves a try before the
  secret is checked (the check runs off the event loop, so checking first and recording
  after would let N concurrent guesses all pass a limit of ten); a success hands its
  try back (``succeeded``). So at most ``max_failures`` wrong secrets are ever checked
  per key and window, however many arrive at once.
- Who is counted: a browser that has logged in here before carries a device cookie
  (postlane.web.cookies, signed, HttpOnly, SameSite=Strict) and is counted by it; any
  other attempt is counted by its client address. Guesses from an address the admin
  shares (an office NAT, a proxy) therefore fill that address's count and not the
  admin's browser's, which still logs in; the guesser cannot get a device cookie without
  logging in. A browser that never logged in waits, from that address, until the
  guesses age out of the window. A throttle that let the right secret through a full
  count ("a correct credential passes") would answer every guess, right or wrong, and
  throttle nothing: only a signal that is not the secret can pick the lane.
- A success does not clear the address's count (another client there may be guessing),
  only its own try.

Kept in memory, per API process (each process counts its own), bounded in size. The
address is the socket's unless a trusted proxy names the client (api_trusted_proxies).
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
        self._attempts: dict[str, deque[float]] = {}

    def attempt(self, key: str) -> float:
        """0 when ``key`` may try now (the try is counted as failed until ``succeeded``);
        else how long until its oldest counted try ages out. Not a coroutine and no await
        inside: concurrent requests cannot interleave between the check and the count."""
        recent = self._recent(key)
        if recent is not None and len(recent) >= self.max_failures:
            return max(0.0, recent[0] + self.window - self._clock())
        if recent is None:
            if len(self._attempts) >= self.max_clients:
                self._forget_quiet_clients()
            recent = self._attempts[key] = deque(maxlen=self.max_failures)
        recent.append(self._clock())
        return 0.0

    def succeeded(self, key: str) -> None:
        """The try was right: it no longer counts (the latest one is handed back; which
        of the ones in flight it was changes only when the count ages out, by a moment)."""
        recent = self._attempts.get(key)
        if recent:
            recent.pop()
        if not recent:
            self._attempts.pop(key, None)

    def _recent(self, key: str) -> deque[float] | None:
        recent = self._attempts.get(key)
        if recent is None:
            return None
        horizon = self._clock() - self.window
        while recent and recent[0] <= horizon:
            recent.popleft()
        return recent

    def _forget_quiet_clients(self) -> None:
        """Drop keys with no try in the window; if all are active, the oldest."""
        horizon = self._clock() - self.window
        for key in [k for k, times in self._attempts.items() if not times or times[-1] <= horizon]:
            del self._attempts[key]
        while len(self._attempts) >= self.max_clients:
            del self._attempts[next(iter(self._attempts))]
