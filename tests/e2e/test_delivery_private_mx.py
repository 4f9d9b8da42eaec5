"""Direct-MX delivery refuses MX hosts that resolve to loopback, link-local or private
addresses (issue 12, item 10) unless the operator sets delivery_allow_private_mx: a
recipient domain's DNS (here a real DNS server on loopback) must not point Postlane's
delivery at this machine or its network. The recipient bounces with the reason; the SMTP
peer on loopback never sees a connection. With the setting on, delivery to loopback works:
tests/e2e/test_delivery.py, which sets it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from postlane.config import Settings
from postlane.outbound.smtp_client import Verdict
from postlane.outbound.transports import DomainLimiter, MxTransport
from tests.support.dns_server import ZoneServer
from tests.support.harness import RunningServer, start_server, test_settings, wait_until
from tests.support.smtp_peer import RulePeer

ZONE = {
    "example.test": {"MX": ["10 mx1.example.test."]},
    "mx1.example.test": {"A": ["127.0.0.1"]},
    "implicit.test": {"A": ["127.0.0.1"]},
    "mapped.test": {"MX": ["10 mx.mapped.test."]},
    "mx.mapped.test": {"AAAA": ["::ffff:127.0.0.1"]},
    "inside.test": {"MX": ["10 mx.inside.test."]},
    "mx.inside.test": {"A": ["10.1.2.3"]},
    "metadata.test": {"MX": ["10 mx.metadata.test."]},
    "mx.metadata.test": {"A": ["169.254.169.254"]},
    # A refused host first, then a mixed one, then one that is public throughout.
    "fallback.test": {"MX": ["10 private.fallback.test.", "20 mixed.fallback.test.",
                             "30 public.fallback.test."]},
    "private.fallback.test": {"A": ["192.168.0.10"]},
    "mixed.fallback.test": {"A": ["93.184.216.34", "127.0.0.1"]},
    "public.fallback.test": {"A": ["93.184.216.34"], "AAAA": ["2606:2800:220:1::1"]},
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


def _settings(database_url: str, tmp_path: Path, peer: RulePeer, dns_zone: ZoneServer,
              **overrides: Any) -> Settings:
    return test_settings(database_url, tmp_path / "data", mx_port=peer.port,
                         dns_nameservers=("127.0.0.1",), dns_port=dns_zone.port,
                         delivery_timeout_seconds=10, **overrides)


@pytest.fixture
def live(database_url: str, tmp_path: Path, peer: RulePeer,
         dns_zone: ZoneServer) -> Iterator[tuple[RunningServer, httpx.Client]]:
    """A Live server with the default: private MX hosts refused."""
    running = start_server(_settings(database_url, tmp_path, peer, dns_zone))
    assert running.settings.delivery_allow_private_mx is False
    created = running.api(account=True).post(
        "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
    yield running, running.api(created["ApiTokens"][0])
    running.stop()


def _bounce_of(api: httpx.Client, to: str) -> dict[str, Any]:
    r = api.post("/email", json={"From": "app@sender.test", "To": to, "Subject": "Hi",
                                 "TextBody": "Hello"})
    assert r.status_code == 200, r.text
    message_id = r.json()["MessageID"]
    bounces = wait_until(lambda: [b for b in api.get("/bounces", params={"count": 10}).json()[
        "Bounces"] if b["MessageID"] == message_id], message="the bounce")
    bounce: dict[str, Any] = bounces[0]
    return bounce


@pytest.mark.parametrize(("to", "host", "described"), [
    ("a@example.test", "mx1.example.test", "a loopback address (127.0.0.1)"),
    ("a@implicit.test", "implicit.test", "a loopback address (127.0.0.1)"),
    ("a@mapped.test", "mx.mapped.test", "a loopback address (::ffff:127.0.0.1)"),
    ("a@inside.test", "mx.inside.test", "a private address (10.1.2.3)"),
    ("a@metadata.test", "mx.metadata.test", "a link-local address (169.254.169.254)"),
])
def test_private_mx_hosts_bounce_with_the_reason(live: tuple[RunningServer, httpx.Client],
                                                 peer: RulePeer, to: str, host: str,
                                                 described: str) -> None:
    _, api = live
    bounce = _bounce_of(api, to)
    assert bounce["Type"] == "HardBounce"
    assert f"MX host {host} resolves to {described}; refused" in bounce["Details"]
    assert peer.attempts == {} and peer.messages_to(to) == []


def test_refused_hosts_are_skipped_for_the_next_mx(tmp_path: Path,
                                                   dns_zone: ZoneServer) -> None:
    # Resolution only (the public host is not on loopback, so nothing connects to it).
    settings = Settings(data_dir=tmp_path, dns_nameservers=("127.0.0.1",),
                        dns_port=dns_zone.port, delivery_timeout_seconds=5)
    transport = MxTransport(settings, DomainLimiter(1))
    hosts, failure = asyncio.run(transport.mx_hosts("fallback.test"))
    assert failure is None
    pairs, refused = asyncio.run(transport.addresses(hosts))
    assert pairs == [("public.fallback.test", "93.184.216.34"),
                     ("public.fallback.test", "2606:2800:220:1::1")]
    assert refused is not None and refused.verdict is Verdict.PERMANENT
    assert refused.text == ("5.4.4 MX host private.fallback.test resolves to a private "
                            "address (192.168.0.10); refused")

    allowing = MxTransport(settings.model_copy(update={"delivery_allow_private_mx": True}),
                           DomainLimiter(1))
    pairs, refused = asyncio.run(allowing.addresses(hosts))
    assert refused is None and [host for host, _ in pairs] == [
        "private.fallback.test", "mixed.fallback.test", "mixed.fallback.test",
        "public.fallback.test", "public.fallback.test"]
