"""Hanging webhook receivers cannot starve the worker (issue 12, item 1): one server's 80
POSTs to a receiver that never answers hold at most webhook_concurrency_per_server slots,
and webhook POSTs as a whole at most webhook_worker_share of them, so another server's
webhooks and every server's screen and deliver steps go on meanwhile."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from postlane.config import Settings
from tests.support.api_servers import create_server
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    wait_until,
)
from tests.support.hostile_receivers import HostileReceiver, hang
from tests.support.webhook_flow import arm, bounce, hook

#: How long each hanging POST is held (its deadline): far beyond PROMPT.
HANG = 30.0
#: What "at once" means here: a few worker steps on a busy machine, well under HANG.
PROMPT = 6.0
RCPTS = tuple(f"gone{i}@example.com" for i in range(40))


@pytest.fixture
def hanging() -> Iterator[HostileReceiver]:
    """Stopped before the server (fixtures end in reverse order): its POSTs end at once."""
    receiver = HostileReceiver(hang()).start()
    yield receiver
    receiver.stop()


def _hang_80(server: RunningServer, hanging: HostileReceiver, holding: int) -> None:
    """80 deliveries from the Default server (40 bounces, 2 webhooks) to the receiver
    that never answers; returns once ``holding`` POSTs are open there."""
    api = server.api()
    arm(api, *RCPTS)
    hook(api, f"{hanging.url}/1")
    hook(api, f"{hanging.url}/2")
    bounce(server, *RCPTS)
    wait_until(lambda: len(hanging.connections) >= holding, timeout=15,
               message=f"{holding} hanging POSTs")


def _sent(api: httpx.Client, message_id: str) -> bool:
    r = api.get(f"/messages/outbound/{message_id}/details")
    return r.status_code == 200 and r.json()["Status"] == "Sent"


def _screened_and_delivered(server: RunningServer) -> float:
    """A new message of the hanging server reaches Sent (screen, then deliver); seconds."""
    began = time.monotonic()
    code, message_id = smtp_send(server, make_message("fresh@example.com"),
                                 ["fresh@example.com"])
    assert code == 250
    wait_until(lambda: _sent(server.api(), message_id), timeout=PROMPT,
               message="the new message screened and delivered")
    return time.monotonic() - began


def test_one_server_cannot_hold_the_slots(make_server: Callable[..., RunningServer],
                                          receiver: WebhookReceiver,
                                          hanging: HostileReceiver) -> None:
    per_server = Settings().webhook_concurrency_per_server
    server = make_server(webhook_timeout_seconds=HANG)
    _hang_80(server, hanging, holding=per_server)

    # Another server's SMTP API Error bounce reaches its (working) receiver.
    created = create_server(server.api(account=True), Name="Other", DeliveryType="sandbox")
    token = created["ApiTokens"][0]
    other = server.api(token)
    arm(other)
    hook(other, receiver.url)
    began = time.monotonic()
    bounce(server, token=token)
    wait_until(lambda: receiver.requests, timeout=PROMPT, message="the other server's webhook")
    assert time.monotonic() - began < PROMPT
    assert receiver.requests[0].body["ServerID"] == created["ID"]

    assert _screened_and_delivered(server) < PROMPT
    # All the while the hanging server had no more than its share of POSTs open.
    assert len(hanging.connections) == per_server


def test_webhooks_cannot_hold_every_slot(make_server: Callable[..., RunningServer],
                                         hanging: HostileReceiver) -> None:
    """Without a per-server limit that bites, webhook POSTs still leave the rest of the
    worker's slots to the other steps."""
    settings = Settings()
    notify_slots = int(settings.worker_concurrency * settings.webhook_worker_share)
    assert 0 < notify_slots < 80
    server = make_server(webhook_timeout_seconds=HANG, webhook_concurrency_per_server=1000)
    _hang_80(server, hanging, holding=notify_slots)

    assert _screened_and_delivered(server) < PROMPT
    # The bounces of the new server's suppressed recipient are screened too.
    began = time.monotonic()
    bounce(server, RCPTS[0])
    wait_until(lambda: server.api().get("/bounces", params={"count": 100, "offset": 0})
               .json()["TotalCount"] == len(RCPTS) + 1, timeout=PROMPT, message="the bounce")
    assert time.monotonic() - began < PROMPT
    assert len(hanging.connections) == notify_slots
