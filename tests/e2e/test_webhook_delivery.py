"""Webhook delivery, triggered by real SMTP API Error bounces (suppress, enable hooks, send
over SMTP): what arrives at a real receiver, which targets get it, the retry schedule, the
delivery log and the manual retry of a delivery whose retries ran out."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx

from postlane.domain.retry import WEBHOOK_SCHEDULE, max_attempts
from tests.support.harness import (
    Received,
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    wait_until,
)

DELIVERY_KEYS = {"ID", "WebhookID", "Url", "RecordType", "State", "Attempts", "LastStatusCode",
                 "LastError", "CreatedAt", "DeliveredAt"}
RCPT = "suppressed@example.com"


def _arm(api: httpx.Client, stream: str = "outbound", rcpt: str = RCPT) -> None:
    """Enable SMTP API Error hooks and suppress ``rcpt`` on ``stream``."""
    r = api.put("/server", json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200, r.text
    r = api.post(f"/message-streams/{stream}/suppressions",
                 json={"Suppressions": [{"EmailAddress": rcpt}]})
    assert r.json()["Suppressions"][0]["Status"] == "Suppressed", r.text


def _hook(api: httpx.Client, url: str, stream: str = "outbound", include_content: bool = False,
          **fields: Any) -> int:
    body = {"Url": url, "MessageStream": stream,
            "Triggers": {"Bounce": {"Enabled": True, "IncludeContent": include_content}}}
    r = api.post("/webhooks", json={**body, **fields})
    assert r.status_code == 200, r.text
    webhook_id: int = r.json()["ID"]
    return webhook_id


def _bounce(server: RunningServer, stream: str = "outbound", subject: str = "Hello") -> str:
    msg = make_message(RCPT, subject=subject, headers={"X-PM-Message-Stream": stream},
                       body="The body text")
    code, message_id = smtp_send(server, msg, [RCPT])
    assert code == 250
    return message_id


def _received(receiver: WebhookReceiver, count: int, timeout: float = 15) -> list[Received]:
    def enough() -> list[Received] | None:
        with receiver._lock:
            return list(receiver.requests) if len(receiver.requests) >= count else None
    found: list[Received] = wait_until(enough, timeout=timeout, message=f"{count} webhook(s)")
    return found


def _deliveries(api: httpx.Client, webhook_id: int | None = None,
                **params: Any) -> list[dict[str, Any]]:
    path = f"/webhooks/{webhook_id}/deliveries" if webhook_id else "/webhook-deliveries"
    r = api.get(path, params=params)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["Deliveries"]
    assert all(set(row) == DELIVERY_KEYS for row in rows)
    return rows


def _delivery_when(api: httpx.Client, check: Callable[[dict[str, Any]], bool],
                   timeout: float = 15) -> dict[str, Any]:
    def match() -> dict[str, Any] | None:
        rows = _deliveries(api)
        return rows[0] if len(rows) == 1 and check(rows[0]) else None
    found: dict[str, Any] = wait_until(match, timeout=timeout, message="delivery state")
    return found


def _headers(request: Received) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def test_auth_headers_and_content(server: RunningServer, receiver: WebhookReceiver) -> None:
    api = server.api()
    _arm(api)
    with_content = _hook(api, f"{receiver.url}/with", include_content=True,
                         HttpAuth={"Username": "hook-user", "Password": "s3cret:x"},
                         HttpHeaders=[{"Name": "X-Custom", "Value": "v1"}])
    without = _hook(api, f"{receiver.url}/without")
    deliveries_only = _hook(api, f"{receiver.url}/delivery-only",
                            Triggers={"Delivery": {"Enabled": True}})
    message_id = _bounce(server, subject="Content check")

    requests = {r.path: r for r in _received(receiver, 2)}
    assert set(requests) == {"/hook/with", "/hook/without"}
    first, second = requests["/hook/with"], requests["/hook/without"]
    expected = base64.b64encode(b"hook-user:s3cret:x").decode()
    assert _headers(first)["authorization"] == f"Basic {expected}"
    assert _headers(first)["x-custom"] == "v1"
    assert _headers(first)["content-type"].startswith("application/json")
    assert "authorization" not in _headers(second) and "x-custom" not in _headers(second)

    dump = api.get(f"/messages/outbound/{message_id}/dump").json()["Body"]
    assert first.body["Content"] == dump
    assert "Subject: Content check" in dump and "The body text" in dump
    assert "Content" not in second.body
    for request in (first, second):
        assert request.body["MessageID"] == message_id
        assert request.body["TypeCode"] == 4003 and request.body["Email"] == RCPT

    # The receiver saw the requests before answering: wait for the worker to log them.
    wait_until(lambda: [d["State"] for d in _deliveries(api)] == ["delivered"] * 2,
               message="both deliveries logged")
    assert _deliveries(api, deliveries_only) == []
    for webhook_id in (with_content, without):
        [row] = _deliveries(api, webhook_id)
        assert row["Attempts"] == 1 and row["LastStatusCode"] == 200


def test_only_webhooks_of_the_bounce_stream(server: RunningServer,
                                            receiver: WebhookReceiver) -> None:
    api = server.api()
    _arm(api, "outbound")
    _arm(api, "broadcast")
    outbound = _hook(api, f"{receiver.url}/outbound", "outbound")
    broadcast = _hook(api, f"{receiver.url}/broadcast", "broadcast")

    _bounce(server, "outbound")
    [request] = _received(receiver, 1)
    assert request.path == "/hook/outbound" and request.body["MessageStream"] == "outbound"
    # All targets are queued in one transaction with the bounce: none other exists.
    assert [d["WebhookID"] for d in _deliveries(api)] == [outbound]

    _bounce(server, "broadcast")
    requests = _received(receiver, 2)
    assert requests[1].path == "/hook/broadcast"
    assert requests[1].body["MessageStream"] == "broadcast"
    assert [d["WebhookID"] for d in _deliveries(api, broadcast)] == [broadcast]
    assert len(_deliveries(api, outbound)) == 1


def test_legacy_bounce_hook_url(server: RunningServer, receiver: WebhookReceiver) -> None:
    api = server.api()
    _arm(api)
    r = api.put("/server", json={"BounceHookUrl": f"{receiver.url}/legacy",
                                 "IncludeBounceContentInHook": True})
    assert r.status_code == 200
    modular = _hook(api, f"{receiver.url}/modular")

    message_id = _bounce(server)
    requests = {r.path: r for r in _received(receiver, 2)}
    assert set(requests) == {"/hook/legacy", "/hook/modular"}
    legacy = requests["/hook/legacy"].body
    assert legacy["MessageID"] == message_id and legacy["Name"] == "SMTP API Error"
    assert "Subject: Hello" in legacy["Content"]
    assert "Content" not in requests["/hook/modular"].body
    log = {d["WebhookID"]: d for d in _deliveries(api)}
    assert set(log) == {None, modular}
    assert log[None]["Url"] == f"{receiver.url}/legacy"
    assert log[None]["RecordType"] == "Bounce"

    api.put("/server", json={"IncludeBounceContentInHook": False})
    second_id = _bounce(server)
    later = [r for r in _received(receiver, 4)[2:] if r.path == "/hook/legacy"]
    assert len(later) == 1
    assert later[0].body["MessageID"] == second_id and "Content" not in later[0].body


def test_retries_follow_the_schedule(make_server: Callable[..., RunningServer],
                                     receiver: WebhookReceiver) -> None:
    scale = 0.3 / WEBHOOK_SCHEDULE[0]  # first gap 0.3 s, second 1.5 s
    server = make_server(retry_scale=scale)
    api = server.api()
    _arm(api)
    webhook_id = _hook(api, receiver.url)
    receiver.responses = [500, 500, 200]
    _bounce(server)

    requests = _received(receiver, 3)
    row = _delivery_when(api, lambda d: d["State"] == "delivered")
    assert row["Attempts"] == 3 and row["LastStatusCode"] == 200 and row["LastError"] is None
    assert row["WebhookID"] == webhook_id and row["DeliveredAt"] is not None
    assert len(receiver.requests) == 3
    assert len({r.body["ID"] for r in requests}) == 1  # the same bounce each time
    for attempt in (0, 1):
        gap = requests[attempt + 1].at - requests[attempt].at
        assert gap >= WEBHOOK_SCHEDULE[attempt] * scale, (attempt, gap)


def test_slow_receiver_is_retried(make_server: Callable[..., RunningServer],
                                  receiver: WebhookReceiver) -> None:
    server = make_server(retry_scale=0.002, webhook_timeout_seconds=0.3)
    api = server.api()
    _arm(api)
    _hook(api, receiver.url)
    receiver.delay = 1.0
    _bounce(server)

    timed_out = _delivery_when(api, lambda d: d["Attempts"] >= 1)
    assert timed_out["State"] == "retrying"
    assert timed_out["LastStatusCode"] is None and "Timeout" in timed_out["LastError"]
    receiver.delay = 0.0

    row = _delivery_when(api, lambda d: d["State"] == "delivered", timeout=30)
    assert row["Attempts"] >= 2 and row["LastStatusCode"] == 200
    assert len({r.body["ID"] for r in _received(receiver, 2)}) == 1


def test_forbidden_is_not_retried(make_server: Callable[..., RunningServer],
                                  receiver: WebhookReceiver) -> None:
    server = make_server(retry_scale=0.001)
    api = server.api()
    _arm(api)
    webhook_id = _hook(api, receiver.url)
    receiver.responses = [403, 200]
    _bounce(server)

    row = _delivery_when(api, lambda d: d["State"] == "failed")
    assert row["Attempts"] == 1 and row["LastStatusCode"] == 403
    assert row["LastError"] == "HTTP 403" and row["DeliveredAt"] is None
    assert _deliveries(api, webhook_id, state="failed") == [row]
    assert _deliveries(api, state="retrying") == []
    assert len(receiver.requests) == 1


def test_exhausted_retries_kept_then_retried(make_server: Callable[..., RunningServer],
                                             receiver: WebhookReceiver) -> None:
    server = make_server(retry_scale=0.00001)  # the whole schedule takes ~0.4 s
    api = server.api()
    _arm(api)
    webhook_id = _hook(api, receiver.url)
    attempts = max_attempts(WEBHOOK_SCHEDULE)
    receiver.responses = [500] * attempts
    _bounce(server)

    row = _delivery_when(api, lambda d: d["State"] == "failed", timeout=30)
    assert row["Attempts"] == attempts and row["LastStatusCode"] == 500
    assert _deliveries(api, webhook_id, state="failed") == [row]
    assert len(receiver.requests) == attempts

    # The receiver has recovered (it answers 200 from now on): retry by hand.
    r = api.post(f"/webhook-deliveries/{row['ID']}/retry")
    assert r.status_code == 200, r.text
    assert r.json() == {"ErrorCode": 0,
                        "Message": f"Webhook delivery {row['ID']} queued for retry."}
    done = _delivery_when(api, lambda d: d["State"] == "delivered")
    assert done["Attempts"] == attempts + 1 and done["LastStatusCode"] == 200
    assert len(_received(receiver, attempts + 1)) == attempts + 1
    assert len({r.body["ID"] for r in receiver.requests}) == 1

    r = api.post(f"/webhook-deliveries/{row['ID']}/retry")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 1400
    r = api.post("/webhook-deliveries/999999/retry")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 1402
    r = api.get("/webhooks/999999/deliveries")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 1402
