"""SubscriptionChange webhooks at a real receiver, over real sockets: an API suppression, its
deletion (a reactivation: SuppressSending false), a hard bounce from a real MX (with its
message's ID, Tag and Metadata), and the dashboard's suppress form and CSV import. Each
POST is read back through django-anymail's Postmark tracking webhook view, Basic auth
included (postmarker and postmark-python have no webhook payload models)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.signals import EventType, RejectReason

from tests.e2e.test_delivery import ZONE, live_server
from tests.support.anymail_postmark import PASSWORD, USERNAME, tracking_events
from tests.support.dashboard import form_token, logged_in, submit, with_token
from tests.support.dns_server import ZoneServer
from tests.support.harness import Received, RunningServer, WebhookReceiver, wait_until
from tests.support.smtp_peer import RulePeer


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


@pytest.fixture
def live(database_url: str, tmp_path: Path, peer: RulePeer,
         dns_zone: ZoneServer) -> Iterator[tuple[RunningServer, httpx.Client]]:
    running, api = live_server(database_url, tmp_path, peer, dns_zone)
    yield running, api
    running.stop()


def _hook(api: httpx.Client, url: str) -> None:
    r = api.post("/webhooks", json={
        "Url": url, "HttpAuth": {"Username": USERNAME, "Password": PASSWORD},
        "Triggers": {"SubscriptionChange": {"Enabled": True}}})
    assert r.status_code == 200, r.text


def _arrived(receiver: WebhookReceiver, count: int) -> list[Received]:
    def enough() -> list[Received] | None:
        with receiver._lock:
            return list(receiver.requests) if len(receiver.requests) >= count else None
    found: list[Received] = wait_until(enough, timeout=20, message=f"{count} webhook(s)")
    return found


def _read(received: Received) -> Any:
    """The one event django-anymail's Postmark tracking view makes of a POST."""
    status, events = tracking_events(received.body, received.headers)
    assert status == 200 and len(events) == 1, (status, received.body)
    return events[0]


def _suppressions(api: httpx.Client, stream: str, *emails: str, delete: bool = False) -> None:
    path = f"/message-streams/{stream}/suppressions" + ("/delete" if delete else "")
    r = api.post(path, json={"Suppressions": [{"EmailAddress": e} for e in emails]})
    assert r.status_code == 200, r.text
    assert all(s["Status"] != "Failed" for s in r.json()["Suppressions"]), r.text


def test_api_suppression_reactivation_and_hard_bounce(
        live: tuple[RunningServer, httpx.Client], receiver: WebhookReceiver) -> None:
    _, api = live
    _hook(api, receiver.url)
    _suppressions(api, "outbound", "Manual@Example.test")
    (suppressed,) = _arrived(receiver, 1)
    assert suppressed.headers.get("Content-Type", "").startswith("application/json")
    body = suppressed.body
    assert body["RecordType"] == "SubscriptionChange" and body["MessageStream"] == "outbound"
    assert (body["Recipient"], body["Origin"], body["SuppressSending"],
            body["SuppressionReason"], body["MessageID"]) == (
        "manual@example.test", "Customer", True, "ManualSuppression", None)
    event = _read(suppressed)
    with pytest.raises(AnymailWebhookValidationFailure):  # the view checks the HttpAuth
        tracking_events(body, {})
    assert (event.event_type, event.reject_reason) == (EventType.UNSUBSCRIBED,
                                                       RejectReason.UNSUBSCRIBED)
    assert event.recipient == "manual@example.test" and event.timestamp is not None

    _suppressions(api, "outbound", "manual@example.test", delete=True)
    reactivated = _arrived(receiver, 2)[1]
    assert (reactivated.body["SuppressSending"], reactivated.body["SuppressionReason"],
            reactivated.body["Origin"]) == (False, None, "Customer")
    assert _read(reactivated).event_type == EventType.SUBSCRIBED

    r = api.post("/email", json={"From": "app@sender.test", "To": "hard@example.test",
                                 "Subject": "Hi", "TextBody": "Hello", "Tag": "welcome",
                                 "Metadata": {"order": "42"}})
    assert r.status_code == 200, r.text
    message_id = r.json()["MessageID"]
    bounced = _arrived(receiver, 3)[2]
    assert (bounced.body["Recipient"], bounced.body["Origin"], bounced.body["SuppressSending"],
            bounced.body["SuppressionReason"], bounced.body["MessageID"]) == (
        "hard@example.test", "Recipient", True, "HardBounce", message_id)
    event = _read(bounced)
    assert (event.event_type, event.reject_reason) == (EventType.BOUNCED, RejectReason.BOUNCED)
    assert (event.message_id, event.tags, event.metadata) == (message_id, ["welcome"],
                                                              {"order": "42"})
    # Nothing more: no change, no webhook (the Bounce trigger is not enabled).
    _suppressions(api, "outbound", "hard@example.test")
    assert len(receiver.bodies()) == 3


def test_dashboard_suppression_and_csv_import(
        live: tuple[RunningServer, httpx.Client], receiver: WebhookReceiver) -> None:
    running, api = live
    _hook(api, receiver.url)
    server_id = api.get("/server").json()["ID"]
    page = f"/dashboard/servers/{server_id}/suppressions"
    csv_text = "EmailAddress\nfirst@example.test\nsecond@example.test\nnot-an-address\n"
    with logged_in(running.api_url, running.account_token) as session:
        r = submit(session, page, f"{page}/add", {"email": "dash@example.test",
                                                  "stream": "outbound"})
        assert r.status_code == 303, r.text
        r = session.post(f"{page}/import",
                         data=with_token({"stream": "outbound"}, form_token(session, page)),
                         files={"file": ("import.csv", csv_text.encode(), "text/csv")})
        assert r.status_code == 303, r.text
        r = submit(session, page, f"{page}/delete", {"email": "first@example.test",
                                                     "stream": "outbound"})
        assert r.status_code == 303, r.text
    got = [(b.body["Recipient"], b.body["SuppressSending"], b.body["Origin"])
           for b in _arrived(receiver, 4)]
    assert sorted(got) == [("dash@example.test", True, "Customer"),
                           ("first@example.test", False, "Customer"),
                           ("first@example.test", True, "Customer"),
                           ("second@example.test", True, "Customer")]
    for received in receiver.requests:
        assert _read(received).recipient == received.body["Recipient"]
