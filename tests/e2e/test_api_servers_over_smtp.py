"""Server API over SMTP: a new server's token works for SMTP AUTH and its mail lands in
that server only, and the SMTP API Error hooks switch changes what SMTP sends to a
suppressed address become. The rest of the Server API: tests/api/test_api_servers.py."""

from __future__ import annotations

import httpx

from tests.support.api_servers import create_server, expect_error
from tests.support.harness import RunningServer, make_message, smtp_send, wait_until


def _status(api: httpx.Client, message_id: str) -> str:
    status: str = api.get(f"/messages/outbound/{message_id}/details").json()["Status"]
    return status


def test_create_server_with_streams_and_working_token(server: RunningServer) -> None:
    account = server.api(account=True)
    created = create_server(account, Name="Staging", Color="red", DeliveryType="sandbox")
    assert created["Name"] == "Staging"
    assert created["Color"] == "red"
    assert created["DeliveryType"] == "Sandbox"
    assert created["EnableSmtpApiErrorHooks"] is False
    assert created["SmtpApiActivated"] is True
    assert created["InboundAddress"] == f"{created['InboundHash']}@inbound.postlane.local"
    assert len(created["ApiTokens"]) == 1
    token = created["ApiTokens"][0]

    own = server.api(token)
    streams = own.get("/message-streams").json()
    assert streams["TotalCount"] == 3
    assert {(s["ID"], s["MessageStreamType"]) for s in streams["MessageStreams"]} == {
        ("outbound", "Transactional"), ("broadcast", "Broadcasts"), ("inbound", "Inbound")}
    assert all(s["ServerID"] == created["ID"] for s in streams["MessageStreams"])
    assert own.get("/server").json() == created

    # The token works for SMTP AUTH too, and mail lands in the new server only.
    code, message_id = smtp_send(server, make_message("a@example.com"), ["a@example.com"],
                                 token=token)
    assert code == 250
    wait_until(lambda: _status(own, message_id) == "Sent", message="sandbox delivery")
    r = server.api().get(f"/messages/outbound/{message_id}/details")
    assert r.status_code == 422
    assert own.get("/messages/outbound").json()["TotalCount"] == 1

    # A server made without DeliveryType is Live, and the type is fixed at creation.
    live = create_server(account, Name="Production")
    assert live["DeliveryType"] == "Live"
    expect_error(account.put(f"/servers/{live['ID']}", json={"DeliveryType": "Sandbox"}), 511)
    expect_error(account.put(f"/servers/{created['ID']}", json={"DeliveryType": "Live"}), 511)
    r = account.put(f"/servers/{live['ID']}", json={"DeliveryType": "Live", "Color": "Green"})
    assert r.status_code == 200 and r.json()["Color"] == "Green"
    assert account.get(f"/servers/{live['ID']}").json()["DeliveryType"] == "Live"


def _bounce_count(api: httpx.Client) -> int:
    total: int = api.get("/bounces", params={"count": 50, "offset": 0}).json()["TotalCount"]
    return total


def _events_once_screened(api: httpx.Client, message_id: str) -> list[str]:
    def screened() -> list[str]:
        details = api.get(f"/messages/outbound/{message_id}/details").json()
        return [e["Type"] for e in details["MessageEvents"]]
    events: list[str] = wait_until(screened, message="message screened")
    return events


def _blocked_silently(api: httpx.Client, message_id: str) -> None:
    """Screened out without a bounce: Blocked, and no event (Postmark has none for a
    recipient dropped this way; the dashboard's history keeps Postlane's own entry)."""
    wait_until(lambda: _status(api, message_id) == "Blocked", message="message screened")
    details = api.get(f"/messages/outbound/{message_id}/details").json()
    assert details["MessageEvents"] == []


def test_smtp_api_error_hooks_switch_changes_smtp_outcome(server: RunningServer) -> None:
    api, account = server.api(), server.api(account=True)
    rcpt = "gone@example.com"
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": rcpt}]})
    assert r.json()["Suppressions"][0]["Status"] == "Suppressed"

    # Hooks off (the default): suppressed silently, no bounce.
    assert account.get(f"/servers/{server.server_id}").json()["EnableSmtpApiErrorHooks"] is False
    _, quiet = smtp_send(server, make_message(rcpt), [rcpt])
    _blocked_silently(api, quiet)
    assert _bounce_count(api) == 0

    # Hooks on: the same send raises an SMTP API Error bounce.
    r = account.put(f"/servers/{server.server_id}", json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200 and r.json()["EnableSmtpApiErrorHooks"] is True
    _, loud = smtp_send(server, make_message(rcpt), [rcpt])
    assert _events_once_screened(api, loud) == ["Bounced"]
    bounces = api.get("/bounces", params={"count": 50, "offset": 0}).json()["Bounces"]
    assert [(b["MessageID"], b["TypeCode"], b["Email"]) for b in bounces] == [
        (loud, 4003, rcpt)]

    # Off again: back to silence.
    r = account.put(f"/servers/{server.server_id}", json={"enablesmtpapierrorhooks": False})
    assert r.status_code == 200 and r.json()["EnableSmtpApiErrorHooks"] is False
    _, quiet_again = smtp_send(server, make_message(rcpt), [rcpt])
    _blocked_silently(api, quiet_again)
    assert _bounce_count(api) == 1
