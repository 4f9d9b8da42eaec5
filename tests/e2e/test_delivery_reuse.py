"""Live delivery reuses its SMTP session (RFC 5321 §4.1.4): each recipient still has its own
transaction, with the VERP return path that binds him alone, but the transactions to one
destination share one connection, through a real SMTP peer on loopback (as the MX via a
real DNS server, and as a smarthost). One transaction's refusal (at RCPT or at DATA) does
not stop the next; a recipient that makes the server hang up does not hold back the rest,
which go on in a new session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.dns_server import ZoneServer
from tests.support.harness import start_server, test_settings, wait_until
from tests.support.smtp_peer import RulePeer

ZONE = {
    "example.test": {"MX": ["10 mx1.example.test."]},
    "mx1.example.test": {"A": ["127.0.0.1"]},
}
MODES = ["mx", "relay"]


@pytest.fixture
def live(database_url: str, tmp_path: Path, request: pytest.FixtureRequest
         ) -> Iterator[tuple[RulePeer, httpx.Client]]:
    """A rule peer and a Live server delivering to it (as its MX, or its smarthost)."""
    zone, peer = ZoneServer(ZONE).start(), RulePeer().start()
    overrides: dict[str, Any] = {"retry_scale": 0.0002, "delivery_timeout_seconds": 10}
    if request.param == "relay":
        overrides["relay_url"] = f"smtp://127.0.0.1:{peer.port}?starttls=never"
    else:
        overrides.update(mx_port=peer.port, dns_nameservers=("127.0.0.1",), dns_port=zone.port,
                         delivery_allow_private_mx=True)
    running = start_server(test_settings(database_url, tmp_path / "data", **overrides))
    try:
        created = running.api(account=True).post(
            "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
        yield peer, running.api(created["ApiTokens"][0])
    finally:
        running.stop()
        peer.stop()
        zone.stop()


def settled(api: httpx.Client, to: str) -> dict[str, str]:
    """Send to ``to``; each recipient's latest event once none is Queued any more."""
    response = api.post("/email", json={"From": "app@sender.test", "To": to, "TextBody": "Hi"})
    assert response.status_code == 200, response.text
    message_id = response.json()["MessageID"]

    def done() -> dict[str, Any] | None:
        shown = api.get(f"/messages/outbound/{message_id}/details").json()
        return shown if shown["Status"] != "Queued" else None

    shown = wait_until(done, timeout=30, message="every recipient settled")
    return {e["Recipient"]: e["Type"] for e in shown["MessageEvents"]}


@pytest.mark.parametrize("live", MODES, indirect=True)
def test_three_recipients_are_three_transactions_over_one_connection(
        live: tuple[RulePeer, httpx.Client]) -> None:
    peer, api = live
    rcpts = ["a@example.test", "b@example.test", "c@example.test"]
    assert settled(api, ", ".join(rcpts)) == dict.fromkeys(rcpts, "Delivered")
    assert sorted(r for got in peer.received for r in got.rcpts) == rcpts
    assert all(len(got.rcpts) == 1 for got in peer.received)
    assert len({got.mail_from for got in peer.received}) == 3  # a VERP path each
    assert peer.connections == 1 and {got.connection for got in peer.received} == {1}


@pytest.mark.parametrize("live", MODES, indirect=True)
def test_a_refused_transaction_does_not_stop_the_next(
        live: tuple[RulePeer, httpx.Client]) -> None:
    peer, api = live
    latest = settled(api, "a@example.test, hard@example.test, reject-data@example.test, "
                          "b@example.test")
    assert latest == {"a@example.test": "Delivered", "hard@example.test": "Bounced",
                      "reject-data@example.test": "Bounced", "b@example.test": "Delivered"}
    assert sorted(r for got in peer.received for r in got.rcpts) == [
        "a@example.test", "b@example.test"]
    assert peer.connections == 1


@pytest.mark.parametrize("live", MODES, indirect=True)
def test_a_hang_up_leaves_the_rest_to_a_new_session(
        live: tuple[RulePeer, httpx.Client]) -> None:
    """drop@ makes the peer close the connection at his RCPT: the recipients after him
    are delivered in a second session at once, not left waiting for a retry."""
    peer, api = live
    latest = settled(api, "drop@example.test, a@example.test, b@example.test")
    assert (latest["a@example.test"], latest["b@example.test"]) == ("Delivered", "Delivered")
    assert latest["drop@example.test"] == "Bounced"  # retried until the schedule ran out
    second = [got for got in peer.received if got.connection == 2]
    assert sorted(r for got in second for r in got.rcpts) == ["a@example.test",
                                                             "b@example.test"]
