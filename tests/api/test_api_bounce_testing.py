"""Bounce-testing addresses through the API, on both databases: mail to
``<type>@bounce-testing.postmarkapp.com`` is not delivered but bounces with that type, on
Sandbox and Live servers, and the bounce shows where a real one does (Bounce API,
MessageEvents, suppressions). The webhooks, received by a real receiver:
tests/e2e/test_sandbox_webhooks.py."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.harness import wait_until
from tests.support.in_process import InProcessServer

DOMAIN = "bounce-testing.postmarkapp.com"


def send(api: httpx.Client, to: str, **extra: Any) -> str:
    r = api.post("/email", json={"From": "app@example.com", "To": to, "Subject": "Hi",
                                 "TextBody": "Hello", **extra})
    assert r.status_code == 200, r.text
    return str(r.json()["MessageID"])


def details(api: httpx.Client, message_id: str) -> dict[str, Any]:
    return dict(api.get(f"/messages/outbound/{message_id}/details").json())


def settled(api: httpx.Client, message_id: str, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = wait_until(
        lambda: len(e := details(api, message_id)["MessageEvents"]) >= count and e,
        message="recipients settled")
    return events


def bounces(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(
        "/bounces", params={"count": 50, "offset": 0, **params}).json()["Bounces"]
    return found


def suppressed(api: httpx.Client) -> list[tuple[str, str]]:
    dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    return sorted((s["EmailAddress"], s["SuppressionReason"]) for s in dump)


def test_sandbox_bounces_each_type_and_delivers_the_rest(server: InProcessServer) -> None:
    api = server.api()
    message_id = send(api, f"HardBounce@{DOMAIN}, soft_bounce@{DOMAIN}, Blocked@{DOMAIN}, "
                           f"whatever@{DOMAIN}, someone@example.com", Tag="t",
                      Metadata={"k": "v"})
    events = settled(api, message_id, 5)
    assert sorted((e["Recipient"], e["Type"]) for e in events) == sorted([
        (f"HardBounce@{DOMAIN}", "Bounced"), (f"soft_bounce@{DOMAIN}", "Bounced"),
        (f"Blocked@{DOMAIN}", "Bounced"), (f"whatever@{DOMAIN}", "Bounced"),
        ("someone@example.com", "Delivered")])
    found = {b["Email"]: b for b in bounces(api)}
    assert {email: (b["Type"], b["TypeCode"], b["Inactive"], b["CanActivate"])
            for email, b in found.items()} == {
        f"hardbounce@{DOMAIN}": ("HardBounce", 1, True, True),
        f"soft_bounce@{DOMAIN}": ("SoftBounce", 4096, False, False),
        f"blocked@{DOMAIN}": ("Blocked", 100006, False, False),
        f"whatever@{DOMAIN}": ("HardBounce", 1, True, True)}
    hard = found[f"hardbounce@{DOMAIN}"]
    assert (hard["MessageID"], hard["Tag"], hard["MessageStream"]) == (message_id, "t",
                                                                       "outbound")
    assert "Test bounce" in hard["Details"] and hard["DumpAvailable"] is True
    assert "Hello" in api.get(f"/bounces/{hard['ID']}/dump").json()["Body"]
    by_event = {e["Recipient"]: e for e in events}
    assert by_event[f"HardBounce@{DOMAIN}"]["Details"]["BounceID"] == str(hard["ID"])
    assert suppressed(api) == [(f"hardbounce@{DOMAIN}", "HardBounce"),
                               (f"whatever@{DOMAIN}", "HardBounce")]
    assert bounces(api, type="SoftBounce")[0]["Email"] == f"soft_bounce@{DOMAIN}"
    # Like a real hard bounce: the next send to it is refused as inactive.
    again = api.post("/email", json={"From": "app@example.com", "To": f"hardbounce@{DOMAIN}",
                                     "TextBody": "x"})
    assert again.status_code == 422 and again.json()["ErrorCode"] == 406


def test_spam_complaint_suppresses_as_a_complaint(server: InProcessServer) -> None:
    api = server.api()
    message_id = send(api, f"SpamComplaint@{DOMAIN}")
    settled(api, message_id, 1)
    [complaint] = bounces(api)
    assert (complaint["Type"], complaint["Inactive"], complaint["CanActivate"]) == (
        "SpamComplaint", True, False)
    assert suppressed(api) == [(f"spamcomplaint@{DOMAIN}", "SpamComplaint")]


def test_the_header_picks_the_type(server: InProcessServer) -> None:
    api = server.api()
    message_id = send(api, f"anyone@{DOMAIN}",
                      Headers=[{"Name": "X-PM-Bounce-Type", "Value": "AutoResponder"}])
    settled(api, message_id, 1)
    assert [b["Type"] for b in bounces(api)] == ["AutoResponder"]
    assert suppressed(api) == []


@pytest.mark.parametrize("type_name", ["Transient", "DnsError", "DMARCPolicy", "Unknown"])
def test_types_that_do_not_deactivate(server: InProcessServer, type_name: str) -> None:
    api = server.api()
    message_id = send(api, f"{type_name}@{DOMAIN}")
    settled(api, message_id, 1)
    [found] = bounces(api)
    assert (found["Type"], found["Inactive"]) == (type_name, False)
    assert details(api, message_id)["MessageEvents"][0]["Type"] == "Bounced"
    assert suppressed(api) == []


def test_a_live_server_bounces_them_without_sending(server: InProcessServer) -> None:
    created = server.api(account=True).post(
        "/servers", json={"Name": "Live", "DeliveryType": "Live"}).json()
    api = server.api(token=created["ApiTokens"][0])
    message_id = send(api, f"hardbounce@{DOMAIN}, softbounce@{DOMAIN}")
    events = settled(api, message_id, 2)
    assert {e["Type"] for e in events} == {"Bounced"}
    assert sorted(b["Type"] for b in bounces(api)) == ["HardBounce", "SoftBounce"]
    assert details(api, message_id)["Status"] == "Sent"
