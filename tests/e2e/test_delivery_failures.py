"""Live delivery when things go wrong for some recipients only, through real SMTP peers on
loopback (direct MX via a real DNS server, and a smarthost relay):

- an internationalised (SMTPUTF8, RFC 6531) address goes out where the next hop offers
  SMTPUTF8, and bounces with a clear reason where it does not, while the message's ASCII
  recipients are delivered either way;
- a recipient refused, or a session cut in the middle, never leaves the others Queued:
  every recipient ends Sent or Bounced, retried within the delivery schedule's bound;
- a server that defers everything, for ever, ends in a visible SoftBounce.
"""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from postlane.outbound import smtp_client
from postlane.outbound.smtp_client import Verdict
from tests.support.dns_server import ZoneServer
from tests.support.harness import RunningServer, start_server, test_settings, wait_until
from tests.support.smtp_peer import RulePeer

ZONE = {
    "example.test": {"MX": ["10 mx1.example.test."]},
    "other.test": {"MX": ["10 mx1.example.test."]},
    "mx1.example.test": {"A": ["127.0.0.1"]},
}
UTF8_LOCAL = "пользователь@example.test"
UTF8_BOTH = "josé@bücher.test"
#: The delivery schedule (about 16 hours in all) shrunk to about 11 seconds.
TINY_SCALE = 0.0002


@pytest.fixture
def dns_zone() -> Iterator[ZoneServer]:
    running = ZoneServer(ZONE).start()
    yield running
    running.stop()


def live_server(database_url: str, tmp_path: Path, peer: RulePeer, mode: str,
                dns_zone: ZoneServer, **overrides: Any) -> tuple[RunningServer, httpx.Client]:
    """A Live server delivering to ``peer`` as its MX (``mode`` "mx") or its smarthost."""
    if mode == "relay":
        overrides["relay_url"] = f"smtp://127.0.0.1:{peer.port}?starttls=never"
    else:
        overrides.update(mx_port=peer.port, dns_nameservers=("127.0.0.1",),
                         dns_port=dns_zone.port, delivery_allow_private_mx=True)
    running = start_server(test_settings(database_url, tmp_path / "data",
                                         delivery_timeout_seconds=10, **overrides))
    created = running.api(account=True).post(
        "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
    return running, running.api(created["ApiTokens"][0])


@pytest.fixture
def started(database_url: str, tmp_path: Path,
            dns_zone: ZoneServer) -> Iterator[Any]:
    """Start a peer and a Live server in front of it; both stopped at the end."""
    stops: list[Any] = []

    def start(mode: str, **peer_options: Any) -> tuple[RulePeer, httpx.Client, RunningServer]:
        overrides = peer_options.pop("server", {})
        peer = RulePeer(**peer_options).start()
        stops.append(peer.stop)
        running, api = live_server(database_url, tmp_path, peer, mode, dns_zone, **overrides)
        stops.append(running.stop)
        return peer, api, running

    yield start
    for stop in reversed(stops):
        stop()


def send(api: httpx.Client, to: str) -> str:
    response = api.post("/email", json={"From": "app@sender.test", "To": to,
                                        "Subject": "Hi", "TextBody": "Hello"})
    assert response.status_code == 200, response.text
    return str(response.json()["MessageID"])


def details(api: httpx.Client, message_id: str) -> dict[str, Any]:
    return dict(api.get(f"/messages/outbound/{message_id}/details").json())


def settled(api: httpx.Client, message_id: str, timeout: float = 30) -> dict[str, Any]:
    """The message's details once no recipient is Queued any more."""
    def done() -> dict[str, Any] | None:
        shown = details(api, message_id)
        return shown if shown["Status"] != "Queued" else None

    return dict(wait_until(done, timeout=timeout, message="every recipient settled"))


def last_event(shown: dict[str, Any], recipient: str) -> dict[str, Any]:
    mine = [e for e in shown["MessageEvents"] if e["Recipient"] == recipient]
    assert mine, f"no event for {recipient}"
    return dict(mine[-1])


def latest_types(shown: dict[str, Any]) -> dict[str, str]:
    """Each recipient's latest event type."""
    return {e["Recipient"]: e["Type"] for e in shown["MessageEvents"]}


MODES = ["mx", "relay"]


@pytest.mark.parametrize("mode", MODES)
def test_utf8_address_bounces_where_the_next_hop_lacks_smtputf8(started: Any,
                                                                 mode: str) -> None:
    peer, api, _ = started(mode)
    message_id = send(api, f"ok@example.test, {UTF8_LOCAL}")
    shown = settled(api, message_id)
    assert last_event(shown, "ok@example.test")["Type"] == "Delivered"
    bounced = last_event(shown, UTF8_LOCAL)
    assert bounced["Type"] == "Bounced"
    assert "SMTPUTF8" in bounced["Details"]["Summary"]
    assert "internationalised" in bounced["Details"]["Summary"]
    (got,) = peer.received
    assert got.rcpts == ["ok@example.test"] and "SMTPUTF8" not in got.mail_options
    bounces = api.get("/bounces", params={"count": 5}).json()["Bounces"]
    assert [(b["Email"], b["Type"], b["Inactive"]) for b in bounces] == [
        (UTF8_LOCAL, "HardBounce", False)]
    assert "RFC 6531" in bounces[0]["Details"]
    # The path is at fault, not the address: nothing is suppressed.
    assert api.get("/message-streams/outbound/suppressions/dump").json() == {
        "Suppressions": []}


@pytest.mark.parametrize("mode", MODES)
def test_utf8_address_is_delivered_where_the_next_hop_offers_smtputf8(started: Any,
                                                                      mode: str) -> None:
    peer, api, _ = started(mode, smtputf8=True)
    message_id = send(api, f"ok@example.test, {UTF8_LOCAL}")
    shown = settled(api, message_id)
    assert shown["Status"] == "Sent"
    assert {e["Recipient"]: e["Type"] for e in shown["MessageEvents"]} == {
        "ok@example.test": "Delivered", UTF8_LOCAL: "Delivered"}
    # One transaction per recipient (each its own VERP return path); both copies carry
    # the internationalised address in their To header as UTF-8 (RFC 6532), so both ask
    # for SMTPUTF8.
    copies = {tuple(got.rcpts): got for got in peer.received}
    assert sorted(copies) == sorted([("ok@example.test",), (UTF8_LOCAL,)])
    for got in copies.values():
        assert "SMTPUTF8" in got.mail_options
        assert UTF8_LOCAL.encode() in got.content.split(b"\r\n\r\n")[0]


def test_utf8_address_submitted_over_smtp_goes_out_as_submitted(started: Any) -> None:
    """The other front door: an SMTPUTF8 submission (RFC 6531 headers and envelope)."""
    peer, api, running = started("mx", smtputf8=True)
    token = api.headers["X-Postmark-Server-Token"]
    raw = (f"From: app@sender.test\r\nTo: {UTF8_LOCAL}, ok@example.test\r\n"
           "Subject: Grüße\r\n\r\nCafé\r\n").encode()
    with smtplib.SMTP("127.0.0.1", running.smtp_port, timeout=30) as smtp:
        smtp.login(token, token)
        smtp.sendmail("app@sender.test", [UTF8_LOCAL, "ok@example.test"], raw,
                      mail_options=["SMTPUTF8"])
    wait_until(lambda: len(peer.received) == 2, message="both deliveries")
    by_rcpts = {tuple(got.rcpts): got for got in peer.received}
    assert sorted(by_rcpts) == sorted([(UTF8_LOCAL,), ("ok@example.test",)])
    for got in by_rcpts.values():  # the headers are UTF-8 for both
        assert "SMTPUTF8" in got.mail_options and "BODY=8BITMIME" in got.mail_options
        assert f"To: {UTF8_LOCAL}".encode() in got.content


def test_ascii_mail_does_not_ask_for_smtputf8(started: Any) -> None:
    peer, api, _ = started("relay", smtputf8=True)
    message_id = send(api, "ok@example.test")
    assert settled(api, message_id)["Status"] == "Sent"
    assert peer.received[0].mail_options == []


def test_each_recipient_gets_its_own_result_from_one_transaction() -> None:
    """The SMTP client itself, against a real peer without SMTPUTF8: a domain with an
    ASCII form (IDNA) goes out in it, a non-ASCII local part fails alone and for good, an
    address that cannot be written in a command fails alone, and the rest are delivered.
    (The front doors accept ASCII domains only; the client does not rely on that.)"""
    peer = RulePeer().start()
    try:
        rcpts = ["ok@example.test", "ok@bücher.test", UTF8_BOTH, "bad\x01x@example.test",
                 "hard@example.test"]
        results = asyncio.run(smtp_client.transact(
            smtp_client.Peer("127.0.0.1", peer.port, start_tls=False), "postlane.test",
            "bounces@postlane.test", rcpts, b"Subject: Hi\r\n\r\nHello\r\n", 10))
    finally:
        peer.stop()
    verdicts = {rcpt: results[rcpt].verdict for rcpt in rcpts}
    assert verdicts == {
        "ok@example.test": Verdict.DELIVERED, "ok@bücher.test": Verdict.DELIVERED,
        UTF8_BOTH: Verdict.UNSUPPORTED, "bad\x01x@example.test": Verdict.PERMANENT,
        "hard@example.test": Verdict.PERMANENT}
    assert "SMTPUTF8" in results[UTF8_BOTH].text
    assert "cannot be written" in results["bad\x01x@example.test"].text
    assert results["hard@example.test"].code == 550
    (got,) = peer.received
    assert got.rcpts == ["ok@example.test", "ok@xn--bcher-kva.test"]


@pytest.mark.parametrize("mode", MODES)
def test_one_refused_and_a_session_cut_short_leave_nobody_queued(started: Any,
                                                                   mode: str) -> None:
    peer, api, _ = started(mode, server={"retry_scale": TINY_SCALE})
    message_id = send(api, "ok@example.test, hard@example.test, drop@example.test")
    # Each recipient has its own transaction (its own VERP return path): ok@ is
    # delivered, the refusal settles at once, the session cut at drop@ is retried within
    # bounds and ends a SoftBounce.
    wait_until(lambda: latest_types(details(api, message_id)).get("hard@example.test")
               == "Bounced", message="the hard bounce")
    shown = settled(api, message_id, timeout=60)
    assert latest_types(shown) == {"ok@example.test": "Delivered",
                                   "hard@example.test": "Bounced",
                                   "drop@example.test": "Bounced"}
    bounces = api.get("/bounces", params={"count": 10}).json()["Bounces"]
    assert sorted((b["Email"], b["Type"]) for b in bounces) == [
        ("drop@example.test", "SoftBounce"), ("hard@example.test", "HardBounce")]
    assert [got.rcpts for got in peer.received] == [["ok@example.test"]]


@pytest.mark.parametrize("mode", MODES)
def test_a_next_hop_that_always_defers_ends_in_a_visible_soft_bounce(started: Any,
                                                                      mode: str) -> None:
    peer, api, _ = started(mode, mail_reply="451 4.3.2 Try again later",
                        server={"retry_scale": TINY_SCALE})
    message_id = send(api, "ok@example.test, other@other.test")
    shown = settled(api, message_id, timeout=60)
    assert shown["Status"] == "Sent"  # Postmark's word; each recipient's bounce is its event
    for recipient in ("ok@example.test", "other@other.test"):
        event = last_event(shown, recipient)
        assert event["Type"] == "Bounced"
        assert "451" in event["Details"]["Summary"]
    assert peer.received == []
