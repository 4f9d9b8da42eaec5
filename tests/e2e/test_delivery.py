"""Live delivery direct to MX: a real DNS server names a real rule-driven SMTP peer on
loopback. 250 → Delivered (+ Delivery webhook), 5xx → HardBounce + suppression, 4xx →
Transient and retried, then SoftBounce when the schedule runs out."""

from __future__ import annotations

import email
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from postmark import sync
from postmark.models.outbound.enums import MessageEventType

from postlane.domain import verp
from postlane.domain.retry import DELIVERY_SCHEDULE
from postlane.store import signing_keys
from tests.support.dns_server import ZoneServer
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    start_server,
    test_settings,
    wait_until,
)
from tests.support.smtp_peer import RulePeer

ZONE = {
    "example.test": {"MX": ["10 mx1.example.test.", "20 mx2.example.test."]},
    "mx1.example.test": {"A": ["127.0.0.1"]},
    "mx2.example.test": {"A": ["127.0.0.1"]},
    "implicit.test": {"A": ["127.0.0.1"]},
    "nullmx.test": {"MX": ["0 ."]},
    # A name outside the special-use TLDs, for the SDK whose email validator refuses .test.
    "example.net": {"MX": ["10 mx1.example.net."]},
    "mx1.example.net": {"A": ["127.0.0.1"]},
}


@pytest.fixture
def peer() -> Iterator[RulePeer]:
    running = RulePeer().start()
    yield running
    running.stop()


@pytest.fixture
def dns_zone() -> Iterator[ZoneServer]:
    running = ZoneServer(ZONE).start()
    yield running
    running.stop()


def live_server(database_url: str, tmp_path: Path, peer: RulePeer, dns_zone: ZoneServer,
                **overrides: Any) -> tuple[RunningServer, httpx.Client]:
    # The zone's MX hosts are on loopback, which direct-MX delivery refuses unless the
    # operator allows private MX hosts (tests/e2e/test_delivery_private_mx.py).
    running = start_server(test_settings(
        database_url, tmp_path / "data", mx_port=peer.port, dns_nameservers=("127.0.0.1",),
        dns_port=dns_zone.port, delivery_timeout_seconds=10, delivery_allow_private_mx=True,
        **overrides))
    created = running.api(account=True).post(
        "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
    return running, running.api(created["ApiTokens"][0])


@pytest.fixture
def live(database_url: str, tmp_path: Path, peer: RulePeer,
         dns_zone: ZoneServer) -> Iterator[tuple[RunningServer, httpx.Client]]:
    running, api = live_server(database_url, tmp_path, peer, dns_zone)
    yield running, api
    running.stop()


def send(api: httpx.Client, to: str, sender: str = "app@sender.test", **extra: Any) -> str:
    body = {"From": sender, "To": to, "Subject": "Hi", "TextBody": "Hello", **extra}
    response = api.post("/email", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["MessageID"])


def details(api: httpx.Client, message_id: str) -> dict[str, Any]:
    return dict(api.get(f"/messages/outbound/{message_id}/details").json())


def events(api: httpx.Client, message_id: str) -> list[str]:
    return [e["Type"] for e in details(api, message_id)["MessageEvents"]]


def test_delivered_with_verp_sender_and_delivery_webhook(
        live: tuple[RunningServer, httpx.Client], peer: RulePeer,
        receiver: WebhookReceiver) -> None:
    running, api = live
    api.post("/webhooks", json={"Url": receiver.url, "Triggers": {"Delivery": {"Enabled": True}}})
    message_id = send(api, "ok@example.test", Tag="welcome", Metadata={"order": "42"})
    got = wait_until(lambda: peer.messages_to("ok@example.test"), message="peer received it")
    # The return path names the message and carries the recipient's signed token.
    token = verp.token_from(got[0].mail_from)
    assert got[0].mail_from.endswith("@bounces.postlane.local")
    assert token is not None and token.message_id == message_id
    assert verp.binds(signing_keys.verp_key(running.app.db, None), token, "ok@example.test")
    parsed = email.message_from_bytes(got[0].content)
    assert parsed["X-PM-Message-Id"] == message_id
    wait_until(lambda: details(api, message_id)["Status"] == "Sent", message="status Sent")
    delivered = details(api, message_id)["MessageEvents"][0]
    assert delivered["Type"] == "Delivered"
    assert delivered["Details"]["DestinationServer"] == "mx1.example.test"
    assert delivered["Details"]["DestinationIP"] == "127.0.0.1"
    hook = wait_until(receiver.bodies, message="delivery webhook")[0]
    assert hook["RecordType"] == "Delivery"
    assert hook["MessageID"] == message_id
    assert hook["Recipient"] == "ok@example.test"
    assert hook["Tag"] == "welcome" and hook["Metadata"] == {"order": "42"}
    assert hook["DeliveredAt"].endswith("Z")


def test_smtp_control_headers_are_stripped(live: tuple[RunningServer, httpx.Client],
                                           peer: RulePeer) -> None:
    running, api = live
    token = api.headers["X-Postmark-Server-Token"]
    msg = make_message("ok@example.test", headers={"X-PM-Tag": "t", "X-PM-Metadata-a": "b",
                                                   "Bcc": "hidden@example.test"})
    code, message_id = smtp_send(running, msg, ["ok@example.test", "hidden@example.test"],
                                 token=token)
    assert code == 250
    got = wait_until(lambda: peer.messages_to("ok@example.test"), message="delivery")
    parsed = email.message_from_bytes(got[0].content)
    assert parsed["X-PM-Tag"] is None and parsed["X-PM-Metadata-a"] is None
    # Bcc never leaves in a header; the hidden recipient still gets the message, and the
    # sender still sees Bcc in the message's details.
    assert parsed["Bcc"] is None and b"hidden@example.test" not in got[0].content
    assert wait_until(lambda: peer.messages_to("hidden@example.test"), message="bcc copy")
    shown = details(api, message_id)
    assert [p["Email"] for p in shown["Bcc"]] == ["hidden@example.test"]
    assert "Bcc: hidden@example.test" in shown["Body"]
    assert parsed["X-PM-Message-Id"] == message_id
    assert parsed["Subject"] == "Hello"


def test_5xx_is_a_hard_bounce_that_suppresses(live: tuple[RunningServer, httpx.Client],
                                              receiver: WebhookReceiver) -> None:
    _, api = live
    api.post("/webhooks", json={"Url": receiver.url, "Triggers": {"Bounce": {"Enabled": True}}})
    message_id = send(api, "hard@example.test")
    hook = wait_until(receiver.bodies, message="bounce webhook")[0]
    assert (hook["Type"], hook["TypeCode"], hook["MessageID"]) == ("HardBounce", 1, message_id)
    assert "550" in hook["Details"] and hook["Inactive"] is True
    dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    assert [(s["EmailAddress"], s["SuppressionReason"], s["Origin"]) for s in dump] == [
        ("hard@example.test", "HardBounce", "Recipient")]
    # Postmark's Status says the message went out; the recipient's outcome is its event.
    found = details(api, message_id)
    assert found["Status"] == "Sent"
    assert [(e["Recipient"], e["Type"]) for e in found["MessageEvents"]] == [
        ("hard@example.test", "Bounced")]
    again = api.post("/email", json={"From": "app@sender.test", "To": "hard@example.test",
                                     "TextBody": "x"})
    assert again.status_code == 422 and again.json()["ErrorCode"] == 406


def test_4xx_is_retried_until_delivered(live: tuple[RunningServer, httpx.Client],
                                        peer: RulePeer) -> None:
    _, api = live
    message_id = send(api, "soft2@example.test")
    wait_until(lambda: details(api, message_id)["Status"] == "Sent", timeout=30,
               message="delivery after two greylisting refusals")
    assert events(api, message_id) == ["Transient", "Transient", "Delivered"]
    assert peer.attempts["soft2@example.test"] == 3
    assert api.get("/bounces", params={"count": 10}).json()["TotalCount"] == 0


def test_4xx_forever_ends_in_a_soft_bounce_without_suppression(
        database_url: str, tmp_path: Path, peer: RulePeer, dns_zone: ZoneServer) -> None:
    # The delivery schedule (about 16 hours in all) shrunk to about 11 seconds.
    running, api = live_server(database_url, tmp_path, peer, dns_zone, retry_scale=0.0002)
    try:
        message_id = send(api, "full@example.test")
        wait_until(lambda: "Bounced" in events(api, message_id), timeout=60,
                   message="giving up")
        assert details(api, message_id)["Status"] == "Sent"
        bounces = api.get("/bounces", params={"count": 10}).json()["Bounces"]
        assert [(b["Type"], b["Inactive"]) for b in bounces] == [("SoftBounce", False)]
        assert events(api, message_id).count("Transient") == len(DELIVERY_SCHEDULE)
        assert peer.attempts["full@example.test"] == len(DELIVERY_SCHEDULE) + 1
        assert api.get("/message-streams/outbound/suppressions/dump").json() == {
            "Suppressions": []}
    finally:
        running.stop()


def test_one_message_mixed_outcomes(live: tuple[RunningServer, httpx.Client],
                                    peer: RulePeer) -> None:
    _, api = live
    message_id = send(api, "ok@example.test, hard@example.test, soft1@example.test")
    wait_until(lambda: details(api, message_id)["Status"] != "Queued", timeout=30,
               message="all recipients settled")
    by_recipient = {e["Recipient"]: e["Type"] for e in details(api, message_id)["MessageEvents"]}
    assert by_recipient["ok@example.test"] == "Delivered"
    assert by_recipient["hard@example.test"] == "Bounced"
    assert by_recipient["soft1@example.test"] == "Delivered"
    assert len(peer.messages_to("ok@example.test")) == 1  # not resent with the retry


@pytest.mark.parametrize(("address", "detail"), [("a@nowhere.test", "does not exist"),
                                                 ("a@nullmx.test", "null MX")])
def test_undeliverable_domains_bounce(live: tuple[RunningServer, httpx.Client],
                                      address: str, detail: str) -> None:
    _, api = live
    send(api, address)
    bounce = wait_until(lambda: api.get("/bounces", params={"count": 5}).json()["Bounces"],
                        message="bounce")[0]
    assert bounce["Type"] == "HardBounce" and detail in bounce["Details"]


def test_domain_without_mx_uses_its_address(live: tuple[RunningServer, httpx.Client],
                                            peer: RulePeer) -> None:
    _, api = live
    message_id = send(api, "someone@implicit.test")
    wait_until(lambda: details(api, message_id)["Status"] == "Sent", message="implicit MX")
    assert peer.messages_to("someone@implicit.test")


def test_concurrency_per_domain_is_capped(database_url: str, tmp_path: Path,
                                          dns_zone: ZoneServer) -> None:
    slow = RulePeer(hold_seconds=0.3).start()
    running, api = live_server(database_url, tmp_path, slow, dns_zone,
                               delivery_concurrency_per_domain=2)
    try:
        ids = [send(api, f"user{i}@example.test") for i in range(6)]
        wait_until(lambda: all(details(api, i)["Status"] == "Sent" for i in ids), timeout=30,
                   message="all delivered")
        assert slow.max_concurrent == 2
    finally:
        running.stop()
        slow.stop()


def test_postmark_python_reads_delivered_transient_and_bounced_events(
        live: tuple[RunningServer, httpx.Client]) -> None:
    """postmark-python's outbound.get() validates every event's Type against its
    MessageEventType enum: a real delivery (retried after 4xx: Transient, then
    Delivered) and a 5xx hard bounce come back as Postmark's events with its Details."""
    running, api = live
    message_id = send(api, "soft2@example.net, hard@example.net", sender="app@example.org")
    wait_until(lambda: "Delivered" in events(api, message_id)
               and "Bounced" in events(api, message_id), timeout=30, message="both settled")
    token = api.headers["X-Postmark-Server-Token"]
    with sync.ServerClient(token, retries=0, timeout=30, base_url=running.api_url) as client:
        message = client.outbound.get(message_id)
    by_type: dict[MessageEventType, list[Any]] = {}
    for event in message.message_events:
        by_type.setdefault(event.type, []).append(event)
    assert set(by_type) == {MessageEventType.TRANSIENT, MessageEventType.DELIVERED,
                            MessageEventType.BOUNCED}
    assert {e.recipient for e in by_type[MessageEventType.TRANSIENT]} == {"soft2@example.net"}
    [delivered] = by_type[MessageEventType.DELIVERED]
    assert delivered.recipient == "soft2@example.net" and delivered.details is not None
    assert delivered.details.destination_server == "mx1.example.net"
    assert delivered.details.destination_ip == "127.0.0.1"
    transient = by_type[MessageEventType.TRANSIENT][0].details
    assert transient is not None and transient.delivery_message
    [bounced] = by_type[MessageEventType.BOUNCED]
    assert bounced.recipient == "hard@example.net" and bounced.details is not None
    assert bounced.details.summary and "550" in bounced.details.summary
    bounce = client_bounce(api, bounced.details.bounce_id)
    assert (bounce["Type"], bounce["MessageID"]) == ("HardBounce", message_id)


def client_bounce(api: httpx.Client, bounce_id: str | None) -> dict[str, Any]:
    r = api.get(f"/bounces/{bounce_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())
