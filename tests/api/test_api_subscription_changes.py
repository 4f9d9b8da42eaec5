"""SubscriptionChange webhooks (issue 11, item 2): every real change to a stream's
suppression list queues one NOTIFY job per listening webhook, in the change's transaction,
with Postmark's payload: customer suppressions and reactivations (Suppressions API, Bounce
activate), hard bounces and spam complaints (Origin Recipient, with their message). An
address already suppressed, or not suppressed, changes nothing and announces nothing; a
stream without such a webhook queues nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from postlane.domain import bounce_types
from postlane.domain.types import JobKind, SuppressionOrigin, SuppressionReason
from postlane.pipeline import bounce
from postlane.store import messages, servers, suppressions
from postlane.store.schema import jobs, webhook_deliveries
from tests.support.harness import WebhookReceiver, wait_until
from tests.support.in_process import InProcessServer

BASE = "/message-streams/{}/suppressions"
PAYLOAD_KEYS = {"RecordType", "MessageID", "ServerID", "MessageStream", "ChangedAt",
                "Recipient", "Origin", "SuppressSending", "SuppressionReason", "Tag",
                "Metadata"}


def _hook(api: httpx.Client, url: str, stream: str = "outbound",
          **triggers: dict[str, bool]) -> int:
    body = {"Url": url, "MessageStream": stream,
            "Triggers": triggers or {"SubscriptionChange": {"Enabled": True}}}
    r = api.post("/webhooks", json=body)
    assert r.status_code == 200, r.text
    hook_id: int = r.json()["ID"]
    return hook_id


def _change(api: httpx.Client, *emails: str, remove: bool = False,
            stream: str = "outbound") -> list[dict[str, Any]]:
    path = BASE.format(stream) + ("/delete" if remove else "")
    r = api.post(path, json={"Suppressions": [{"EmailAddress": e} for e in emails]})
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["Suppressions"]
    return results


def _queued(server: InProcessServer) -> list[dict[str, Any]]:
    """Every SubscriptionChange delivery queued, oldest first, each with its NOTIFY job."""
    with server.app.db.read() as conn:
        rows = conn.execute(sa.select(webhook_deliveries)
                            .where(webhook_deliveries.c.record_type == "SubscriptionChange")
                            .order_by(webhook_deliveries.c.id)).mappings().all()
        refs = set(conn.execute(sa.select(jobs.c.ref)
                                .where(jobs.c.kind == JobKind.NOTIFY.value)).scalars())
    assert all(str(row["id"]) in refs for row in rows), "a delivery without its NOTIFY job"
    found = [dict(row) for row in rows]
    for row in found:
        assert set(row["payload"]) == PAYLOAD_KEYS, row["payload"]
        assert row["payload"]["RecordType"] == "SubscriptionChange"
        assert row["payload"]["ServerID"] == server.server_id
        changed = datetime.fromisoformat(row["payload"]["ChangedAt"])
        assert row["payload"]["ChangedAt"].endswith("Z")
        assert abs((datetime.now(UTC) - changed).total_seconds()) < 60
    return found


def _payloads(server: InProcessServer) -> list[dict[str, Any]]:
    return [row["payload"] for row in _queued(server)]


def _brief(payload: dict[str, Any]) -> tuple[Any, ...]:
    return (payload["Recipient"], payload["SuppressSending"], payload["SuppressionReason"],
            payload["Origin"], payload["MessageID"])


def test_customer_suppressions_are_announced_once_each(server: InProcessServer,
                                                        receiver: WebhookReceiver) -> None:
    api = server.api()
    hook_id = _hook(api, receiver.url)
    _change(api, "one@example.com", "Two@Example.com", "not-an-address")
    payloads = _payloads(server)
    assert sorted(_brief(p) for p in payloads) == [
        ("one@example.com", True, "ManualSuppression", "Customer", None),
        ("two@example.com", True, "ManualSuppression", "Customer", None)]
    assert all(p["MessageStream"] == "outbound" and p["Tag"] is None and p["Metadata"] == {}
               for p in payloads)
    assert {row["webhook_id"] for row in _queued(server)} == {hook_id}
    # Already suppressed (in any spelling): nothing changes, nothing is announced.
    _change(api, "ONE@example.com", "two@example.com")
    assert len(_queued(server)) == 2
    received = wait_until(lambda: len(receiver.bodies()) >= 2 and receiver.bodies(),
                          message="both webhooks")
    assert sorted(b["Recipient"] for b in received) == ["one@example.com", "two@example.com"]


def test_reactivations_are_announced_without_a_reason(server: InProcessServer,
                                                      receiver: WebhookReceiver) -> None:
    api = server.api()
    _change(api, "back@example.com")  # before the webhook exists: not announced
    _hook(api, receiver.url)
    assert [r["Status"] for r in _change(api, "back@example.com", "never@example.com",
                                         remove=True)] == ["Deleted", "Deleted"]
    (payload,) = _payloads(server)
    assert _brief(payload) == ("back@example.com", False, None, "Customer", None)
    assert payload["Tag"] is None and payload["Metadata"] == {}
    # Deleting it again changes nothing.
    _change(api, "back@example.com", remove=True)
    assert len(_queued(server)) == 1


def test_a_refused_reactivation_announces_nothing(server: InProcessServer,
                                                  receiver: WebhookReceiver) -> None:
    api = server.api()
    _hook(api, receiver.url)
    with server.app.db.write() as conn:
        suppressions.add(conn, server.server_id, "outbound", "spam@example.com",
                         SuppressionReason.SPAM_COMPLAINT, SuppressionOrigin.RECIPIENT)
    (result,) = _change(api, "spam@example.com", remove=True)
    assert result["Status"] == "Failed"
    assert _queued(server) == []


def test_only_the_streams_subscription_change_webhooks_hear(server: InProcessServer,
                                                            receiver: WebhookReceiver) -> None:
    api = server.api()
    _hook(api, receiver.url, Bounce={"Enabled": True}, SubscriptionChange={"Enabled": False})
    broadcast = _hook(api, receiver.url, stream="broadcast")
    api.put("/server", json={"BounceHookUrl": receiver.url})  # has no SubscriptionChange
    _change(api, "quiet@example.com")
    assert _queued(server) == []
    _change(api, "loud@example.com", stream="broadcast")
    (row,) = _queued(server)
    assert row["webhook_id"] == broadcast
    assert row["payload"]["MessageStream"] == "broadcast"


def _sent(api: httpx.Client, to: str) -> str:
    r = api.post("/email", json={"From": "app@example.com", "To": to, "Subject": "Hi",
                                 "TextBody": "Hello", "Tag": "welcome",
                                 "Metadata": {"order": "42"}})
    assert r.status_code == 200, r.text
    return str(r.json()["MessageID"])


def _bounce(server: InProcessServer, message_id: str, email: str, type_name: str,
            reason: SuppressionReason) -> int:
    """Record a bounce as the pipeline does (a 5xx, a DSN, an ARF report)."""
    kind = bounce_types.lookup(type_name)
    assert kind is not None
    with server.app.db.write() as conn:
        found = servers.get(conn, server.server_id)
        message = messages.get(conn, server.server_id, message_id)
        assert found is not None and message is not None
        stored = bounce.record(conn, found, message, bounce.BounceFacts(
            kind=kind, email=email, details="550 5.1.1 no such user", inactive=True,
            can_activate=reason is not SuppressionReason.SPAM_COMPLAINT, suppress=reason))
        return stored.id


def test_hard_bounces_and_spam_complaints_carry_their_message(
        server: InProcessServer, receiver: WebhookReceiver) -> None:
    api = server.api()
    _hook(api, receiver.url)
    hard = _sent(api, "hard@example.com")
    spam = _sent(api, "spam@example.com")
    _bounce(server, hard, "hard@example.com", "HardBounce", SuppressionReason.HARD_BOUNCE)
    _bounce(server, spam, "spam@example.com", "SpamComplaint",
            SuppressionReason.SPAM_COMPLAINT)
    # A second hard bounce of a suppressed address changes nothing.
    _bounce(server, _sent(api, "other@example.com"), "hard@example.com", "HardBounce",
            SuppressionReason.HARD_BOUNCE)
    payloads = _payloads(server)
    assert [_brief(p) for p in payloads] == [
        ("hard@example.com", True, "HardBounce", "Recipient", hard),
        ("spam@example.com", True, "SpamComplaint", "Recipient", spam)]
    assert all(p["Tag"] == "welcome" and p["Metadata"] == {"order": "42"} for p in payloads)


def test_bounce_activate_is_a_reactivation(server: InProcessServer,
                                           receiver: WebhookReceiver) -> None:
    api = server.api()
    _hook(api, receiver.url)
    message_id = _sent(api, "hard@example.com")
    bounce_id = _bounce(server, message_id, "hard@example.com", "HardBounce",
                        SuppressionReason.HARD_BOUNCE)
    r = api.put(f"/bounces/{bounce_id}/activate")
    assert r.status_code == 200, r.text
    assert [_brief(p) for p in _payloads(server)] == [
        ("hard@example.com", True, "HardBounce", "Recipient", message_id),
        ("hard@example.com", False, None, "Customer", None)]
    wait_until(lambda: len(receiver.bodies()) == 2, message="both webhooks")


def test_without_a_listening_webhook_nothing_is_queued(server: InProcessServer) -> None:
    api = server.api()
    _change(api, *[f"user{i}@example.com" for i in range(50)])
    _change(api, "user1@example.com", remove=True)
    _bounce(server, _sent(api, "hard@example.com"), "hard@example.com", "HardBounce",
            SuppressionReason.HARD_BOUNCE)
    assert _queued(server) == []
    with server.app.db.read() as conn:
        assert suppressions.count(conn, server.server_id) == 50


def test_sandbox_bounce_testing_addresses_are_announced_through_the_pipeline(
        server: InProcessServer, receiver: WebhookReceiver) -> None:
    """The worker's own bounce step (Sandbox bounce-testing addresses): a hard bounce and a
    spam complaint suppress and are announced with their message; a soft bounce is not."""
    api = server.api()
    _hook(api, receiver.url)
    domain = "bounce-testing.postmarkapp.com"
    sent = {name: _sent(api, f"{name}@{domain}") for name in ("HardBounce", "SpamComplaint",
                                                             "SoftBounce")}
    wait_until(lambda: len(receiver.bodies()) >= 2, message="two SubscriptionChange webhooks")
    assert sorted(_brief(p) for p in _payloads(server)) == [
        (f"hardbounce@{domain}", True, "HardBounce", "Recipient", sent["HardBounce"]),
        (f"spamcomplaint@{domain}", True, "SpamComplaint", "Recipient",
         sent["SpamComplaint"])]
    assert sorted(b["Recipient"] for b in receiver.bodies()) == [f"hardbounce@{domain}",
                                                                 f"spamcomplaint@{domain}"]
