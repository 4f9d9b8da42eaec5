"""Dashboard login throttling: after ten failed logins from one address within five
minutes, the form answers 429 with Retry-After, even to the right secret, until the
oldest failure ages out; a successful login clears the count."""

from __future__ import annotations

import httpx

from postlane.web.throttle import LoginThrottle
from tests.support.harness import RunningServer


def _login(client: httpx.Client, secret: str) -> httpx.Response:
    return client.post("/dashboard/login", data={"secret": secret, "next": "/dashboard"})


def test_guessing_is_refused_after_ten_failures(server: RunningServer) -> None:
    with httpx.Client(base_url=server.api_url, timeout=10) as client:
        assert _login(client, server.account_token).status_code == 303  # works at first
        for _ in range(10):
            assert _login(client, "guess").status_code == 401
        refused = _login(client, server.account_token)
        assert refused.status_code == 429
        assert 290 <= int(refused.headers["Retry-After"]) <= 300
        assert "Too many failed logins" in refused.text
        with httpx.Client(base_url=server.api_url, timeout=10) as other_session:
            assert _login(other_session, server.account_token).status_code == 429  # by address


def test_a_success_clears_the_count(server: RunningServer) -> None:
    with httpx.Client(base_url=server.api_url, timeout=10) as client:
        for _ in range(9):
            assert _login(client, "guess").status_code == 401
        assert _login(client, server.account_token).status_code == 303
        for _ in range(9):
            assert _login(client, "guess").status_code == 401
        assert _login(client, server.account_token).status_code == 303


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_age_out_of_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        assert throttle.wait_seconds("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        clock.now += 10
    assert throttle.wait_seconds("10.0.0.1") == 30  # the first failure ages out at 1060
    assert throttle.wait_seconds("10.0.0.2") == 0  # others are not affected
    clock.now += 30
    assert throttle.wait_seconds("10.0.0.1") == 0


def test_memory_stays_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, max_clients=100, clock=clock)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
        clock.now += 0.01
    assert len(throttle._failures) <= 100
    assert throttle.wait_seconds("10.0.3.231") == 0  # one failure only: still allowed
