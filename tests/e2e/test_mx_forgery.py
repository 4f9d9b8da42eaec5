"""The bounce MX trusts no one (issue 12, item 4), on both backends and real sockets.

A Live server delivers through a real SMTP peer on loopback, so each recipient's copy
arrives with the return path a real recipient would see. The attacker is one recipient of
a message to several: he knows his own copy's envelope sender and nothing else, and
delivers forged reports to the bounce MX with smtplib, as any mail server could.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from postlane.domain import verp
from postlane.domain.records import InboundReport
from postlane.store import reports as stored_reports
from tests.support.harness import RunningServer, start_server, test_settings, wait_until
from tests.support.smtp_peer import RulePeer

DATA = Path(__file__).parents[1] / "data" / "reports"
SAMPLE_ID = "5f0c2a8e-7b1d-4c3a-9e6f-0d4b8a2c1e7f"
SAMPLE_RETURN_PATH = f"pm_bounces+{SAMPLE_ID}@bounces.postlane.local"
ALICE, BOB = "alice@one.test", "bob@two.test"


@pytest.fixture
def peer() -> Iterator[RulePeer]:
    running = RulePeer().start()
    yield running
    running.stop()


def live(database_url: str, tmp_path: Path, peer: RulePeer,
         **overrides: Any) -> tuple[RunningServer, httpx.Client]:
    running = start_server(test_settings(
        database_url, tmp_path / "data", relay_url=f"smtp://127.0.0.1:{peer.port}",
        delivery_timeout_seconds=10, **overrides))
    created = running.api(account=True).post(
        "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
    return running, running.api(created["ApiTokens"][0])


@pytest.fixture
def server(database_url: str, tmp_path: Path,
           peer: RulePeer) -> Iterator[tuple[RunningServer, httpx.Client]]:
    running, api = live(database_url, tmp_path, peer)
    yield running, api
    running.stop()


def send_to_both(api: httpx.Client, peer: RulePeer) -> tuple[str, dict[str, str]]:
    """A message to Alice and Bob; returns its id and each one's envelope sender as the
    peer received it (what each finds in the Return-Path of their copy)."""
    r = api.post("/email", json={"From": "app@sender.test", "To": f"{ALICE}, {BOB}",
                                 "Subject": "Team news", "TextBody": "Hello both"})
    assert r.status_code == 200, r.text
    message_id: str = r.json()["MessageID"]

    def copies() -> dict[str, str] | None:
        found = {rcpt: [c.mail_from for c in peer.messages_to(rcpt)
                        if message_id.encode() in c.content] for rcpt in (ALICE, BOB)}
        return {k: v[0] for k, v in found.items()} if all(found.values()) else None
    paths: dict[str, str] = wait_until(copies, message="delivered to both")
    return message_id, paths


def report(name: str, message_id: str, return_path: str, about: str, named: str) -> bytes:
    """A sample report rewritten to name ``about`` (the fixture's recipient ``named``),
    quoting ``return_path`` and ``message_id``, CRLF as on the wire."""
    raw = (DATA / name).read_text()
    raw = raw.replace(SAMPLE_RETURN_PATH, return_path).replace(SAMPLE_ID, message_id)
    raw = raw.replace(named, about)
    return raw.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def complaint(message_id: str, return_path: str, about: str) -> bytes:
    return report("arf_abuse.eml", message_id, return_path, about, "complainer@example.com")


def dsn(message_id: str, return_path: str, about: str) -> bytes:
    return report("postfix_unknown_user.eml", message_id, return_path, about,
                  "nobody@example.net")


def deliver_report(running: RunningServer, raw: bytes, rcpt: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", running.inbound_port, timeout=30) as smtp:
        smtp.ehlo("mx.attacker.test")
        assert smtp.mail("")[0] == 250
        code, reply = smtp.rcpt(rcpt)
        assert code == 250, reply
        return smtp.data(raw)


def settled(running: RunningServer, count: int = 1) -> list[InboundReport]:
    """The stored reports, oldest first, once the worker has dealt with all ``count``."""
    def done() -> list[InboundReport] | None:
        with running.app.db.read() as conn:
            rows = stored_reports.listing(conn)
        ok = len(rows) == count and all(r.state != "queued" for r in rows)
        return list(reversed(rows)) if ok else None
    found: list[InboundReport] = wait_until(done, message=f"{count} report(s) processed")
    return found


def suppressed(api: httpx.Client) -> list[tuple[str, str]]:
    dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    return sorted((s["EmailAddress"], s["SuppressionReason"]) for s in dump)


def bounce_emails(api: httpx.Client) -> list[tuple[str, str]]:
    found = api.get("/bounces", params={"count": 50, "offset": 0}).json()["Bounces"]
    return sorted((b["Email"], b["Type"]) for b in found)


def status(api: httpx.Client, message_id: str) -> dict[str, str]:
    details = api.get(f"/messages/outbound/{message_id}/details").json()
    return {e["Recipient"]: e["Type"] for e in details["MessageEvents"]}


# --- the attack ---------------------------------------------------------------------------

def test_forged_complaint_about_another_recipient_suppresses_nobody(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    running, api = server
    message_id, paths = send_to_both(api, peer)
    # Bob complains "as Alice" to the return path of his own copy.
    code, _ = deliver_report(running, complaint(message_id, paths[BOB], ALICE), paths[BOB])
    assert code == 250  # stored, whatever it says: the operator can read it
    (row,) = settled(running)
    assert row.state == "unmatched" and row.kind == "arf"
    assert ALICE in row.note
    assert suppressed(api) == [] and bounce_emails(api) == []
    assert status(api, message_id) == {ALICE: "Delivered", BOB: "Delivered"}


def test_forged_dsn_about_another_recipient_bounces_nobody(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    running, api = server
    message_id, paths = send_to_both(api, peer)
    assert deliver_report(running, dsn(message_id, paths[BOB], ALICE), paths[BOB])[0] == 250
    (row,) = settled(running)
    assert (row.state, row.kind) == ("unmatched", "dsn") and ALICE in row.note
    assert suppressed(api) == [] and bounce_emails(api) == []


def test_the_report_for_ones_own_token_is_applied(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    running, api = server
    message_id, paths = send_to_both(api, peer)
    assert deliver_report(running, complaint(message_id, paths[BOB], BOB), paths[BOB])[0] == 250
    (row,) = settled(running)
    assert (row.state, row.message_id) == ("processed", message_id)
    assert suppressed(api) == [(BOB, "SpamComplaint")]
    assert bounce_emails(api) == [(BOB, "SpamComplaint")]


def test_a_dsn_for_each_recipient_applies_to_that_recipient_only(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    running, api = server
    message_id, paths = send_to_both(api, peer)
    assert deliver_report(running, dsn(message_id, paths[ALICE], ALICE), paths[ALICE])[0] == 250
    settled(running)
    assert suppressed(api) == [(ALICE, "HardBounce")]
    assert status(api, message_id) == {ALICE: "Bounced", BOB: "Delivered"}


def test_a_complaint_that_names_nobody_is_the_token_holders(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    """Feedback loops often redact the recipient: the token alone says whose it is."""
    running, api = server
    message_id, paths = send_to_both(api, peer)
    raw = complaint(message_id, paths[BOB], BOB).replace(
        f"Original-Rcpt-To: <{BOB}>\r\n".encode(), b"")
    assert b"Original-Rcpt-To" not in raw
    # Sent to the feedback loop's own address: the token travels in Original-Mail-From.
    assert deliver_report(running, raw, f"fbl@{running.settings.bounce_domain}")[0] == 250
    settled(running)
    assert suppressed(api) == [(BOB, "SpamComplaint")]


def test_old_style_return_paths_affect_nobody(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    """The message-only return path of mail sent before the upgrade (or guessed from the
    X-PM-Message-Id a recipient sees) binds no recipient."""
    running, api = server
    message_id, _ = send_to_both(api, peer)
    legacy = f"{verp.PREFIX}+{message_id}@{running.settings.bounce_domain}"
    assert deliver_report(running, dsn(message_id, legacy, ALICE), legacy)[0] == 250
    assert deliver_report(running, complaint(message_id, legacy, ALICE),
                          f"fbl@{running.settings.bounce_domain}")[0] == 250
    rows = settled(running, 2)
    assert [r.state for r in rows] == ["unmatched", "unmatched"]
    assert all("token" in r.note for r in rows)
    assert suppressed(api) == [] and bounce_emails(api) == []


def test_a_token_that_fails_verification_is_unmatched(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    running, api = server
    message_id, paths = send_to_both(api, peer)
    other_id, other_paths = send_to_both(api, peer)
    local, _, domain = paths[BOB].partition("@")
    flipped = local[:-1] + ("a" if local[-1] != "a" else "b")
    # Bob's token with its last character changed, and Bob's token from another message
    # moved onto this one: neither verifies.
    moved = other_paths[BOB].replace(other_id, message_id)
    for forged in (f"{flipped}@{domain}", moved):
        assert deliver_report(running, dsn(message_id, forged, BOB), forged)[0] == 250
    rows = settled(running, 2)
    assert [r.state for r in rows] == ["unmatched", "unmatched"]
    assert suppressed(api) == [] and bounce_emails(api) == []


def test_each_recipient_has_its_own_transaction_and_return_path(
        server: tuple[RunningServer, httpx.Client], peer: RulePeer) -> None:
    running, api = server
    message_id, paths = send_to_both(api, peer)
    assert sorted(tuple(r.rcpts) for r in peer.received) == [(ALICE,), (BOB,)]
    assert paths[ALICE] != paths[BOB]
    for path in paths.values():
        local, _, domain = path.partition("@")
        assert domain == running.settings.bounce_domain
        assert local.startswith(f"{verp.PREFIX}+{message_id}.")
        assert len(local) <= 64  # RFC 5321 4.5.3.1.1
    # A copy carries no other recipient's token.
    alice_copy = peer.messages_to(ALICE)[0].content
    assert paths[BOB].encode() not in alice_copy


def test_the_key_survives_a_restart(database_url: str, tmp_path: Path,
                                    peer: RulePeer) -> None:
    """The signing key is kept in the database: a report for mail sent before a restart
    (or by another process of a scale-out) still verifies."""
    first, api = live(database_url, tmp_path, peer)
    try:
        message_id, paths = send_to_both(api, peer)
    finally:
        first.stop()
    second = start_server(test_settings(database_url, tmp_path / "data",
                                        relay_url=f"smtp://127.0.0.1:{peer.port}"))
    try:
        assert deliver_report(second, dsn(message_id, paths[BOB], BOB), paths[BOB])[0] == 250
        (row,) = settled(second)
        assert row.state == "processed"
    finally:
        second.stop()
