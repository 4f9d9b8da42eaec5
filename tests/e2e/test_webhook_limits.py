"""A webhook receiver cannot hold a POST open past its deadline or make the worker read
an endless answer (issue 12, item 1): real sockets that trickle bytes or flood them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from postlane.domain.retry import WEBHOOK_SCHEDULE
from tests.support.harness import RunningServer, wait_until
from tests.support.hostile_receivers import (
    Behaviour,
    Connection,
    HostileReceiver,
    flood_body,
    trickle_body,
    trickle_head,
)
from tests.support.webhook_flow import arm, bounce, delivery_when, hook

DEADLINE = 1.0
#: The first retry comes this long after a failed attempt.
FIRST_GAP = 0.5
#: Scheduling slack on a busy machine: the POST ends at the deadline plus at most this.
SLACK = 2.0


@pytest.fixture
def hostile() -> Iterator[Callable[[Behaviour], HostileReceiver]]:
    started: list[HostileReceiver] = []

    def make(behaviour: Behaviour) -> HostileReceiver:
        started.append(HostileReceiver(behaviour).start())
        return started[-1]

    yield make
    for receiver in started:
        receiver.stop()


def _connections(receiver: HostileReceiver, count: int, timeout: float) -> list[Connection]:
    def enough() -> list[Connection] | None:
        found = receiver.connections
        return found if len(found) >= count else None
    result: list[Connection] = wait_until(enough, timeout=timeout,
                                          message=f"{count} connection(s)")
    return result


@pytest.mark.parametrize("trickle", [trickle_head, trickle_body], ids=["head", "body"])
def test_a_trickling_receiver_is_given_up_at_the_deadline(
        make_server: Callable[..., RunningServer],
        hostile: Callable[[Behaviour], HostileReceiver],
        trickle: Callable[[float], Behaviour]) -> None:
    """One byte every 0.3 s resets a per-read timeout for ever; the deadline is for the
    whole exchange, and the attempt counts as failed and is retried on the schedule."""
    server = make_server(webhook_timeout_seconds=DEADLINE,
                         retry_scale=FIRST_GAP / WEBHOOK_SCHEDULE[0])
    receiver = hostile(trickle(0.3))
    api = server.api()
    arm(api)
    hook(api, receiver.url)
    bounce(server)

    first, second = _connections(receiver, 2, timeout=DEADLINE + FIRST_GAP + 3 * SLACK)[:2]
    assert first.closed_at is not None, "the worker never let go of the first POST"
    held = first.closed_at - first.accepted_at
    assert DEADLINE * 0.9 <= held <= DEADLINE + SLACK, held
    # The schedule's wait (less the moment the receiver may take to notice the close).
    assert second.accepted_at - first.closed_at >= FIRST_GAP - 0.2

    row = delivery_when(api, lambda d: d["Attempts"] >= 1)
    assert row["State"] == "retrying"
    assert row["LastError"] == f"Timeout: no complete answer within {DEADLINE:g} s"


def test_an_endless_answer_is_not_read_whole(make_server: Callable[..., RunningServer],
                                             hostile: Callable[[Behaviour], HostileReceiver]
                                             ) -> None:
    """A 256 MiB answer: the status is all Postlane needs; the worker reads at most
    webhook_max_response_bytes of the body and hangs up, so the receiver cannot finish."""
    total = 256 * 1024 * 1024
    server = make_server(webhook_timeout_seconds=30, webhook_max_response_bytes=64 * 1024)
    receiver = hostile(flood_body(total))
    api = server.api()
    arm(api)
    hook(api, receiver.url)
    bounce(server)

    row = delivery_when(api, lambda d: d["State"] != "pending", timeout=30)
    assert row["State"] == "delivered" and row["LastStatusCode"] == 200, row
    [seen] = receiver.connections
    wait_until(lambda: seen.closed_at is not None, timeout=5, message="the worker hung up")
    assert not seen.finished
    # What got out is the part read plus what the two kernels' socket buffers hold.
    assert seen.sent < 32 * 1024 * 1024, seen.sent


def test_an_error_answer_is_not_read_whole(make_server: Callable[..., RunningServer],
                                           hostile: Callable[[Behaviour], HostileReceiver]
                                           ) -> None:
    """The same cap when the receiver refuses: its status is recorded, its body is not read."""
    server = make_server(webhook_timeout_seconds=30, retry_scale=1.0)
    receiver = hostile(flood_body(256 * 1024 * 1024, status=500))
    api = server.api()
    arm(api)
    hook(api, receiver.url)
    bounce(server)

    row = delivery_when(api, lambda d: d["Attempts"] >= 1, timeout=30)
    assert row["State"] == "retrying" and row["LastStatusCode"] == 500
    assert row["LastError"] == "HTTP 500"
    [seen] = receiver.connections
    wait_until(lambda: seen.closed_at is not None, timeout=5, message="the worker hung up")
    assert not seen.finished and seen.sent < 32 * 1024 * 1024, seen.sent
