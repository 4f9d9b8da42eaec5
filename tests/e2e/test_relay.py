"""Live delivery through a smarthost: STARTTLS and AUTH to a real SMTP peer on loopback.
A relay that refuses our credentials is our problem, never the recipients': it is
retried and raises no bounce or suppression."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from postlane.outbound.transports import parse_relay_url
from tests.support.harness import RunningServer, start_server, test_settings, wait_until
from tests.support.smtp_peer import RulePeer


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[RulePeer]:
    running = RulePeer(require_auth=("relay-user", "s3cret"), tls_dir=tmp_path / "peer").start()
    yield running
    running.stop()


def relayed_server(database_url: str, tmp_path: Path, relay_url: str,
                   **overrides: Any) -> tuple[RunningServer, httpx.Client]:
    running = start_server(test_settings(database_url, tmp_path / "data", relay_url=relay_url,
                                         delivery_timeout_seconds=10, **overrides))
    created = running.api(account=True).post(
        "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
    return running, running.api(created["ApiTokens"][0])


def send(api: httpx.Client, to: str) -> str:
    response = api.post("/email", json={"From": "app@sender.test", "To": to, "TextBody": "Hi"})
    assert response.status_code == 200, response.text
    return str(response.json()["MessageID"])


def status(api: httpx.Client, message_id: str) -> str:
    return str(api.get(f"/messages/outbound/{message_id}/details").json()["Status"])


def test_relay_with_starttls_and_auth(database_url: str, tmp_path: Path,
                                      relay: RulePeer) -> None:
    url = f"smtp://relay-user:s3cret@127.0.0.1:{relay.port}?starttls=require&verify=false"
    running, api = relayed_server(database_url, tmp_path, url)
    try:
        message_id = send(api, "a@one.test, b@two.test, hard@three.test")
        wait_until(lambda: status(api, message_id) != "Queued", message="relayed")
        got = relay.received
        # One transaction per recipient (each has its own VERP return path).
        assert len(got) == 2 and all(g.login == "relay-user" for g in got)
        assert sorted(r for g in got for r in g.rcpts) == ["a@one.test", "b@two.test"]
        assert all(len(g.rcpts) == 1 for g in got) and got[0].mail_from != got[1].mail_from
        bounces = api.get("/bounces", params={"count": 5}).json()["Bounces"]
        assert [(b["Email"], b["Type"]) for b in bounces] == [("hard@three.test", "HardBounce")]
    finally:
        running.stop()


def test_relay_refusing_our_credentials_is_retried_without_bouncing(
        database_url: str, tmp_path: Path, relay: RulePeer) -> None:
    url = f"smtp://relay-user:wrong@127.0.0.1:{relay.port}?verify=false"
    running, api = relayed_server(database_url, tmp_path, url)
    try:
        message_id = send(api, "a@one.test")

        def transient_events() -> list[Any]:
            events = api.get(f"/messages/outbound/{message_id}/details").json()["MessageEvents"]
            return [e for e in events if e["Type"] == "Transient"]

        first = wait_until(transient_events, message="a transient failure")[0]
        # Postmark's Transient Details: the SMTP answer is the DeliveryMessage.
        assert "535" in first["Details"]["DeliveryMessage"] or "Authentication" in \
            first["Details"]["DeliveryMessage"]
        assert status(api, message_id) == "Queued"
        assert api.get("/bounces", params={"count": 5}).json()["TotalCount"] == 0
        assert api.get("/message-streams/outbound/suppressions/dump").json() == {
            "Suppressions": []}
        assert relay.received == []
    finally:
        running.stop()


def test_relay_url_forms() -> None:
    implicit = parse_relay_url("smtps://u%40x:p%2Fw@mail.example.net")
    assert (implicit.host, implicit.port, implicit.use_tls, implicit.start_tls) == (
        "mail.example.net", 465, True, False)
    assert (implicit.username, implicit.password, implicit.validate_certs) == ("u@x", "p/w", True)
    plain = parse_relay_url("smtp://relay.example.net:2525?starttls=never&verify=false")
    assert (plain.port, plain.start_tls, plain.validate_certs, plain.username) == (
        2525, False, False, None)
    assert parse_relay_url("smtp://relay.example.net").port == 587
    with pytest.raises(ValueError):
        parse_relay_url("http://relay.example.net")
