"""Dashboard login throttling (issue 12, item 7 and the low item on the throttle): after
ten failed logins within five minutes the form answers 429 with Retry-After, even to the
right secret; attempts still being checked count, so concurrent guesses get no more
tries; a browser that has logged in before is counted on its own, so guesses from its
address do not lock it out; and the address counted is the socket's unless a trusted
proxy names another (X-Forwarded-For)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from postlane.web.throttle import LoginThrottle
from tests.support.dashboard import form_token, post_login, with_token
from tests.support.harness import RunningServer
from tests.support.serve_process import serve


@pytest.fixture
def backend() -> str:
    """The counts are kept in memory, whatever the database: SQLite."""
    return "sqlite"


def _client(server_url: str) -> httpx.Client:
    return httpx.Client(base_url=server_url, timeout=30)


def test_guessing_is_refused_after_ten_failures(server: RunningServer) -> None:
    with _client(server.api_url) as client:
        for _ in range(10):
            assert post_login(client, "guess").status_code == 401
        refused = post_login(client, server.account_token)
        assert refused.status_code == 429
        assert 290 <= int(refused.headers["Retry-After"]) <= 300
        assert "Too many failed logins" in refused.text
        with _client(server.api_url) as other_session:  # counted by address
            assert post_login(other_session, server.account_token).status_code == 429


def test_concurrent_guesses_get_no_more_tries(server: RunningServer) -> None:
    """20 wrong attempts at once: ten are checked (401), the rest refused unchecked (429)."""
    clients = [_client(server.api_url) for _ in range(20)]
    try:
        tokens = [form_token(client) for client in clients]
        start = threading.Barrier(len(clients), timeout=30)

        def guess(index: int) -> int:
            start.wait()
            data = with_token({"secret": f"guess-{index}"}, tokens[index])
            return clients[index].post("/dashboard/login", data=data).status_code

        with ThreadPoolExecutor(len(clients)) as pool:
            statuses = sorted(pool.map(guess, range(len(clients))))
    finally:
        for client in clients:
            client.close()
    assert statuses == [401] * 10 + [429] * 10


def test_guesses_from_the_admins_address_do_not_lock_the_admin_out(
        server: RunningServer) -> None:
    with _client(server.api_url) as admin, _client(server.api_url) as attacker:
        assert post_login(admin, server.account_token).status_code == 303  # earlier, once
        logout = with_token({}, form_token(admin, "/dashboard"))
        assert admin.post("/dashboard/logout", data=logout).status_code == 303
        for _ in range(10):
            assert post_login(attacker, "guess").status_code == 401
        assert post_login(attacker, server.account_token).status_code == 429
        # The admin's browser has logged in before: it is counted on its own, and in.
        assert post_login(admin, server.account_token).status_code == 303
        with _client(server.api_url) as new_browser:  # one that never logged in waits
            assert post_login(new_browser, server.account_token).status_code == 429
        # ... and that browser's own guesses are throttled as any address's are.
        logout = with_token({}, form_token(admin, "/dashboard"))
        assert admin.post("/dashboard/logout", data=logout).status_code == 303
        for _ in range(10):
            assert post_login(admin, "typo").status_code == 401
        assert post_login(admin, server.account_token).status_code == 429


def test_a_success_is_not_counted_as_a_failure(server: RunningServer) -> None:
    """Nor does it clear the address's failures: another client there may be guessing."""
    with _client(server.api_url) as client:
        for _ in range(9):
            assert post_login(client, "guess").status_code == 401
        assert post_login(client, server.account_token).status_code == 303
    with _client(server.api_url) as other:
        assert post_login(other, "guess").status_code == 401  # the tenth failure
        assert post_login(other, server.account_token).status_code == 429


def _forged(server_url: str, attempts: int, address: Callable[[int], str]) -> list[int]:
    """Wrong logins, each claiming the client address ``address(i)``."""
    with _client(server_url) as client:
        return [post_login(client, "guess",
                           headers={"X-Forwarded-For": address(i)}).status_code
                for i in range(attempts)]


def test_a_forged_forwarded_for_does_not_change_the_address(tmp_path: Path,
                                                            database_url: str) -> None:
    """The real `postlane serve`, with no proxy configured: X-Forwarded-For from a
    local client is not believed, so rotating it buys no extra guesses."""
    running = serve(tmp_path, database_url)
    try:
        statuses = _forged(running.api_url, 11, lambda i: f"203.0.113.{i + 1}")
    finally:
        running.stop()
    assert statuses == [401] * 10 + [429]


def test_a_trusted_proxy_names_the_client(tmp_path: Path, database_url: str) -> None:
    """With the proxy's address configured, X-Forwarded-For names the client counted."""
    running = serve(tmp_path, database_url, env={"POSTLANE_API_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        rotating = _forged(running.api_url, 11, lambda i: f"203.0.113.{i + 1}")
        one_client = _forged(running.api_url, 11, lambda i: "198.51.100.7")
        # An IPv6 client counts by its /64: a new address of its own subnet per guess
        # is still the one client.
        one_subnet = _forged(running.api_url, 11, lambda i: f"2001:db8::{i + 1:x}")
    finally:
        running.stop()
    assert rotating == [401] * 11
    assert one_client == [401] * 10 + [429]
    assert one_subnet == [401] * 10 + [429]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_attempts_age_out_of_the_window() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=clock)
    for _ in range(3):
        assert throttle.attempt("10.0.0.1") == 0
        clock.now += 10
    assert throttle.attempt("10.0.0.1") == 30  # the first attempt ages out at 1060
    assert throttle.attempt("10.0.0.2") == 0  # others are not affected
    clock.now += 30
    assert throttle.attempt("10.0.0.1") == 0


def test_a_success_releases_only_its_own_attempt() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=clock)
    assert throttle.attempt("a") == 0
    assert throttle.attempt("a") == 0
    assert throttle.attempt("a") == 0  # three in flight: the limit
    assert throttle.attempt("a") > 0
    throttle.succeeded("a")  # one of them was right
    assert throttle.attempt("a") == 0
    assert throttle.attempt("a") > 0


def test_memory_stays_bounded() -> None:
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_seconds=60, max_clients=100, clock=clock)
    for i in range(1000):
        throttle.attempt(f"10.0.{i // 256}.{i % 256}")
        clock.now += 0.01
    assert len(throttle._attempts) <= 100
    assert throttle.attempt("10.0.3.231") == 0  # one attempt only: still allowed
