"""A real server and a real webhook receiver: a Sandbox server's deliveries fire Delivery
webhooks as live ones do, and mail to bounce-testing addresses (over REST and SMTP)
fires Bounce and SpamComplaint webhooks that the SDKs' bounce models read. Sends with
POSTMARK_API_TEST through postmark-python store nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from postmark import Email, PostmarkAPIException, sync
from postmark.models.bounces import Bounce as PostmarkPythonBounce
from postmark.models.bounces import BounceType
from postmark.models.outbound.enums import MessageEventType
from postmarker.models.bounces import Bounce as PostmarkerBounce

from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    start_server,
    test_settings,
    wait_until,
)

DOMAIN = "bounce-testing.postmarkapp.com"
SANDBOX_DETAILS = "Sandbox server: message stored, not sent."


@pytest.fixture
def sandbox(database_url: str, tmp_path: Path
            ) -> Iterator[tuple[RunningServer, httpx.Client, int]]:
    running = start_server(test_settings(database_url, tmp_path / "data"))
    created = running.api(account=True).post(
        "/servers", json={"Name": "Sandbox", "DeliveryType": "Sandbox"}).json()
    assert created["DeliveryType"] == "Sandbox"
    yield running, running.api(created["ApiTokens"][0]), int(created["ID"])
    running.stop()


def hook_all(api: httpx.Client, receiver: WebhookReceiver) -> None:
    r = api.post("/webhooks", json={"Url": receiver.url, "Triggers": {
        "Delivery": {"Enabled": True}, "Bounce": {"Enabled": True, "IncludeContent": True},
        "SpamComplaint": {"Enabled": True}}})
    assert r.status_code == 200, r.text


def received(receiver: WebhookReceiver, count: int) -> dict[str, list[dict[str, Any]]]:
    bodies: list[dict[str, Any]] = wait_until(
        lambda: len(b := receiver.bodies()) >= count and b, timeout=30,
        message=f"{count} webhooks")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        by_type.setdefault(body["RecordType"], []).append(body)
    return by_type


def test_sandbox_fires_delivery_bounce_and_complaint_webhooks(
        sandbox: tuple[RunningServer, httpx.Client, int], receiver: WebhookReceiver) -> None:
    running, api, server_id = sandbox
    hook_all(api, receiver)
    r = api.post("/email", json={
        "From": "app@example.org", "Subject": "Hi", "TextBody": "Hello", "Tag": "welcome",
        "Metadata": {"order": "42"},
        "To": f"one@example.com, two@example.net, HardBounce@{DOMAIN}, "
              f"Soft_Bounce@{DOMAIN}, SpamComplaint@{DOMAIN}"})
    assert r.status_code == 200, r.text
    message_id = r.json()["MessageID"]
    by_type = received(receiver, 5)
    assert {k: len(v) for k, v in by_type.items()} == {
        "Delivery": 2, "Bounce": 2, "SpamComplaint": 1}

    deliveries = sorted(by_type["Delivery"], key=lambda b: str(b["Recipient"]))
    assert [d["Recipient"] for d in deliveries] == ["one@example.com", "two@example.net"]
    for delivery in deliveries:
        assert set(delivery) == {"RecordType", "ServerID", "MessageStream", "MessageID",
                                 "Recipient", "Tag", "DeliveredAt", "Details", "Metadata"}
        assert (delivery["ServerID"], delivery["MessageStream"], delivery["MessageID"]) == (
            server_id, "outbound", message_id)
        assert (delivery["Tag"], delivery["Metadata"]) == ("welcome", {"order": "42"})
        assert delivery["Details"] == SANDBOX_DETAILS
        assert datetime.fromisoformat(delivery["DeliveredAt"]).utcoffset() is not None

    bounces = {b["Type"]: b for b in by_type["Bounce"]}
    hard, soft = bounces["HardBounce"], bounces["SoftBounce"]
    [complaint] = by_type["SpamComplaint"]
    assert (hard["Email"], hard["Inactive"], hard["CanActivate"]) == (
        f"hardbounce@{DOMAIN}", True, True)
    assert (soft["Email"], soft["Inactive"], soft["TypeCode"]) == (
        f"soft_bounce@{DOMAIN}", False, 4096)
    assert (complaint["Type"], complaint["Inactive"], complaint["CanActivate"]) == (
        "SpamComplaint", True, False)
    for body in (hard, soft, complaint):
        assert (body["MessageID"], body["ServerID"], body["Tag"], body["Metadata"]) == (
            message_id, server_id, "welcome", {"order": "42"})
        assert "Test bounce" in body["Details"]
    assert "Hello" in hard["Content"]  # IncludeContent on the Bounce trigger

    # The SDKs' own bounce models read the webhook bodies.
    parsed = PostmarkPythonBounce.model_validate(hard)
    assert parsed.type is BounceType.HARD_BOUNCE and parsed.inactive
    assert parsed.message_id == message_id and parsed.email == f"hardbounce@{DOMAIN}"
    assert PostmarkPythonBounce.model_validate(soft).type is BounceType.SOFT_BOUNCE
    assert PostmarkPythonBounce.model_validate(complaint).type is BounceType.SPAM_COMPLAINT
    legacy = PostmarkerBounce(**hard)
    assert (legacy.Type, legacy.ID, legacy.MessageID) == ("HardBounce", hard["ID"],
                                                          message_id)

    # The same bounces through the Bounce API and MessageEvents, as postmark-python reads them.
    token = api.headers["X-Postmark-Server-Token"]
    with sync.ServerClient(token, retries=0, timeout=30, base_url=running.api_url) as client:
        stored = client.bounces.get(hard["ID"])
        assert stored.type is BounceType.HARD_BOUNCE and stored.details == hard["Details"]
        assert client.bounces.list(count=50, offset=0).total == 3
        message = client.outbound.get(message_id)
    assert sorted((e.recipient, e.type) for e in message.message_events) == sorted([
        ("one@example.com", MessageEventType.DELIVERED),
        ("two@example.net", MessageEventType.DELIVERED),
        (f"HardBounce@{DOMAIN}", MessageEventType.BOUNCED),
        (f"Soft_Bounce@{DOMAIN}", MessageEventType.BOUNCED),
        (f"SpamComplaint@{DOMAIN}", MessageEventType.BOUNCED)])
    dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    assert sorted((s["EmailAddress"], s["SuppressionReason"]) for s in dump) == [
        (f"hardbounce@{DOMAIN}", "HardBounce"), (f"spamcomplaint@{DOMAIN}", "SpamComplaint")]


def test_smtp_mail_bounces_with_the_header_type(
        sandbox: tuple[RunningServer, httpx.Client, int], receiver: WebhookReceiver) -> None:
    running, api, _ = sandbox
    hook_all(api, receiver)
    token = api.headers["X-Postmark-Server-Token"]
    msg = make_message(f"anyone@{DOMAIN}", headers={"X-PM-Bounce-Type": "Blocked"})
    code, message_id = smtp_send(running, msg, [f"anyone@{DOMAIN}", "seen@example.com"],
                                 token=token)
    assert code == 250
    by_type = received(receiver, 2)
    [bounce] = by_type["Bounce"]
    assert (bounce["Type"], bounce["TypeCode"], bounce["MessageID"]) == (
        "Blocked", 100006, message_id)
    [delivery] = by_type["Delivery"]
    assert (delivery["Recipient"], delivery["Details"]) == ("seen@example.com",
                                                           SANDBOX_DETAILS)


def test_the_delivery_hook_url_of_a_sandbox_server(
        sandbox: tuple[RunningServer, httpx.Client, int], receiver: WebhookReceiver) -> None:
    """The server's own DeliveryHookUrl is told too, like a webhook."""
    _, api, _ = sandbox
    assert api.put("/server", json={"DeliveryHookUrl": receiver.url}).status_code == 200
    r = api.post("/email", json={"From": "app@example.org", "To": "x@example.com",
                                 "TextBody": "x"})
    [hook] = wait_until(receiver.bodies, timeout=30, message="delivery hook")
    assert (hook["RecordType"], hook["MessageID"]) == ("Delivery", r.json()["MessageID"])


def test_postmark_api_test_token_through_postmark_python(
        sandbox: tuple[RunningServer, httpx.Client, int]) -> None:
    running, api, _ = sandbox
    with sync.ServerClient("POSTMARK_API_TEST", retries=0, timeout=30,
                           base_url=running.api_url) as client:
        sent = client.outbound.send(Email(sender="app@example.org", to="one@example.com",
                                          subject="Hi", text_body="Hello"))
        assert sent.success and sent.message == "Test job accepted"
        assert sent.to == "one@example.com" and sent.submitted_at.tzinfo is not None
        batch = client.outbound.send_batch([
            {"sender": "app@example.org", "to": f"b{n}@example.com", "subject": "B",
             "text_body": "x"} for n in range(2)])
        assert [(s.to, s.message) for s in batch] == [
            ("b0@example.com", "Test job accepted"), ("b1@example.com", "Test job accepted")]
        with pytest.raises(PostmarkAPIException) as raised:
            client.outbound.send_with_template({
                "sender": "app@example.org", "to": "one@example.com",
                "template_alias": "welcome", "template_model": {"name": "x"}})
        assert (raised.value.error_code, raised.value.http_status) == (1101, 422)
    for path in ("/messages/outbound", "/bounces"):
        assert running.api().get(path, params={"count": 10, "offset": 0}).json()[
            "TotalCount"] == 0
        assert api.get(path, params={"count": 10, "offset": 0}).json()["TotalCount"] == 0
