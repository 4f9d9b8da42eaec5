"""A changed or deleted webhook stops its queued deliveries from going to the old URL
(issue 12, item 1): deliveries pending a retry at receiver A go to B once the webhook (or
the server's legacy BounceHookUrl) points at B, and nowhere once it is deleted (cleared),
with the delivery log saying so. Two real receivers."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import httpx

from postlane.domain.retry import WEBHOOK_SCHEDULE
from tests.support.harness import RunningServer, WebhookReceiver, wait_until
from tests.support.webhook_flow import arm, bounce, deliveries, delivery_when, hook

#: The first retry comes this long after the first attempt fails.
FIRST_GAP = 1.0
FAILING = [500] * 20


def _server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server(retry_scale=FIRST_GAP / WEBHOOK_SCHEDULE[0])


def _first_attempt_failed(api: httpx.Client, at: WebhookReceiver) -> dict[str, object]:
    """Once the receiver has refused the first attempt and the log shows it pending."""
    wait_until(lambda: at.requests, message="the first attempt")
    return delivery_when(api, lambda d: d["Attempts"] == 1 and d["State"] == "retrying")


def _headers(receiver: WebhookReceiver) -> dict[str, str]:
    return {k.lower(): v for k, v in receiver.requests[0].headers.items()}


def test_a_changed_webhook_gets_the_retries(make_server: Callable[..., RunningServer]) -> None:
    server = _server(make_server)
    old, new = WebhookReceiver(responses=list(FAILING)).start(), WebhookReceiver().start()
    try:
        api = server.api()
        arm(api)
        webhook_id = hook(api, old.url, HttpHeaders=[{"Name": "X-Old", "Value": "1"}])
        bounce(server)
        _first_attempt_failed(api, old)

        r = api.put(f"/webhooks/{webhook_id}", json={
            "Url": new.url, "HttpHeaders": [{"Name": "X-New", "Value": "2"}],
            "HttpAuth": {"Username": "u", "Password": "p"}})
        assert r.status_code == 200, r.text
        row = delivery_when(api, lambda d: d["State"] == "delivered")
        assert row["Attempts"] == 2 and row["Url"] == new.url and row["LastStatusCode"] == 200
        assert len(new.requests) == 1 and len(old.requests) == 1
        headers = _headers(new)
        assert headers["x-new"] == "2" and "x-old" not in headers
        assert headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
        assert new.requests[0].body == old.requests[0].body
    finally:
        old.stop()
        new.stop()


def test_a_deleted_webhook_gets_nothing_more(make_server: Callable[..., RunningServer],
                                             receiver: WebhookReceiver) -> None:
    server = _server(make_server)
    receiver.responses = list(FAILING)
    api = server.api()
    arm(api)
    webhook_id = hook(api, receiver.url)
    bounce(server)
    _first_attempt_failed(api, receiver)

    r = api.delete(f"/webhooks/{webhook_id}")
    assert r.status_code == 200, r.text
    [row] = deliveries(api)
    assert row["State"] == "cancelled" and row["Attempts"] == 1  # at once, not at the retry
    assert row["LastError"] == f"Cancelled: webhook {webhook_id} was deleted"
    time.sleep(FIRST_GAP * 2.5)  # past the retry that would have come
    assert len(receiver.requests) == 1
    assert deliveries(api) == [row]

    # Retried by hand: its webhook is still gone, so it is cancelled again, unsent.
    assert api.post(f"/webhook-deliveries/{row['ID']}/retry").status_code == 200
    again = delivery_when(api, lambda d: d["LastError"] != row["LastError"])
    assert again["State"] == "cancelled" and again["Attempts"] == 1
    assert again["LastError"] == f"Cancelled: webhook {webhook_id} no longer exists"
    assert len(receiver.requests) == 1


def test_the_legacy_hook_url_moves_and_is_cleared(make_server: Callable[..., RunningServer]
                                                  ) -> None:
    """The server's BounceHookUrl: its queued deliveries follow it to B, and stop when it
    is cleared."""
    server = _server(make_server)
    old, new = WebhookReceiver(responses=list(FAILING)).start(), WebhookReceiver().start()
    try:
        api = server.api()
        arm(api)
        assert api.put("/server", json={"BounceHookUrl": old.url}).status_code == 200
        bounce(server)
        first = _first_attempt_failed(api, old)
        assert first["WebhookID"] is None

        assert api.put("/server", json={"BounceHookUrl": new.url}).status_code == 200
        row = delivery_when(api, lambda d: d["State"] == "delivered")
        assert row["Url"] == new.url and len(new.requests) == 1 and len(old.requests) == 1

        # Failing at the new URL, then the hook URL cleared: no more POSTs, anywhere.
        new.responses = list(FAILING)
        bounce(server)
        wait_until(lambda: len(new.requests) == 2, message="the second bounce's attempt")
        wait_until(lambda: [d["State"] for d in deliveries(api)] == ["retrying", "delivered"],
                   message="the second bounce's attempt logged")
        assert api.put("/server", json={"BounceHookUrl": ""}).status_code == 200
        cancelled = wait_until(lambda: [d for d in deliveries(api) if d["State"] == "cancelled"],
                               timeout=FIRST_GAP * 5, message="the cancelled delivery")
        assert cancelled[0]["Attempts"] == 1 and cancelled[0]["Url"] == new.url
        assert cancelled[0]["LastError"] == ("Cancelled: the server has no hook URL for "
                                             "Bounce records now")
        time.sleep(FIRST_GAP)
        assert len(new.requests) == 2 and len(old.requests) == 1

        # The hook URL set again and the cancelled delivery retried by hand: it goes there.
        new.responses = []
        assert api.put("/server", json={"BounceHookUrl": new.url}).status_code == 200
        r = api.post(f"/webhook-deliveries/{cancelled[0]['ID']}/retry")
        assert r.status_code == 200, r.text
        wait_until(lambda: [d["State"] for d in deliveries(api)] == ["delivered"] * 2,
                   message="the retried delivery")
        assert len(new.requests) == 3 and len(old.requests) == 1
    finally:
        old.stop()
        new.stop()
