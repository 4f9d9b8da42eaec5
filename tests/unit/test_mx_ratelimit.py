"""The bounce MX's per-client token bucket (issue 12, item 4), on an injected clock."""

from __future__ import annotations

import pytest

from postlane.domain.network import client_key
from postlane.mx.ratelimit import ClientBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_a_minutes_worth_then_waits() -> None:
    clock = Clock()
    buckets = ClientBuckets(3, clock)
    peer = ("192.0.2.7", 40001)
    assert [buckets.allow(peer) for _ in range(4)] == [True, True, True, False]
    clock.now += 19  # not yet a third of a minute: still nothing
    assert not buckets.allow(peer)
    clock.now += 1  # 20 s at 3 a minute: one more
    assert buckets.allow(peer) and not buckets.allow(peer)
    clock.now += 3600  # a long pause refills to the burst, no further
    assert [buckets.allow(peer) for _ in range(4)] == [True, True, True, False]


def test_clients_are_counted_apart_and_by_address_not_port() -> None:
    buckets = ClientBuckets(1, Clock())
    assert buckets.allow(("192.0.2.7", 1))
    assert not buckets.allow(("192.0.2.7", 2))  # a new connection is the same client
    assert buckets.allow(("192.0.2.8", 1))


@pytest.mark.parametrize(("peer", "key"), [
    (("2001:db8:1:2:aaaa::1", 25, 0, 0), "2001:db8:1:2::/64"),
    (("2001:db8:1:2:ffff::9", 25, 0, 0), "2001:db8:1:2::/64"),  # same /64, same client
    (("::ffff:192.0.2.1", 25, 0, 0), "192.0.2.1"),
    (("192.0.2.1", 25), "192.0.2.1"),
    ("/run/postlane.sock", "/run/postlane.sock"),
])
def test_client_keys(peer: object, key: str) -> None:
    assert client_key(peer) == key


def test_zero_means_no_limit() -> None:
    buckets = ClientBuckets(0, Clock())
    assert all(buckets.allow(("192.0.2.7", 1)) for _ in range(1000))


def test_memory_is_bounded_by_forgetting_the_least_recent_client() -> None:
    buckets = ClientBuckets(1, Clock(), max_clients=2)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert buckets.allow((host, 1))
    assert len(buckets._buckets) == 2
    assert not buckets.allow(("192.0.2.3", 1))  # the recent ones are remembered
    assert buckets.allow(("192.0.2.1", 1))  # the forgotten one starts afresh
