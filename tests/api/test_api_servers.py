"""Server API: /servers with the account token, /server with a server token.

Response keys are compared with the Server model of Postmark's official postmark.js client
(models/server/Server.d.ts), which lists exactly these 22 fields.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.harness import RunningServer, make_message, smtp_send, wait_until

SERVER_KEYS = {
    "ID", "Name", "ApiTokens", "ServerLink", "Color", "SmtpApiActivated", "RawEmailEnabled",
    "DeliveryType", "InboundAddress", "InboundHookUrl", "BounceHookUrl", "OpenHookUrl",
    "DeliveryHookUrl", "ClickHookUrl", "PostFirstOpenOnly", "InboundDomain", "InboundHash",
    "InboundSpamThreshold", "TrackOpens", "TrackLinks", "IncludeBounceContentInHook",
    "EnableSmtpApiErrorHooks",
}


def _error(response: httpx.Response, code: int, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == code, body
    assert body["Message"]
    return body


def _create(account: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = account.post("/servers", json=fields)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == SERVER_KEYS
    return body


def _status(api: httpx.Client, message_id: str) -> str:
    status: str = api.get(f"/messages/outbound/{message_id}/details").json()["Status"]
    return status


def test_create_server_with_streams_and_working_token(server: RunningServer) -> None:
    account = server.api(account=True)
    created = _create(account, Name="Staging", Color="red", DeliveryType="sandbox")
    assert created["Name"] == "Staging"
    assert created["Color"] == "Red"
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
    live = _create(account, Name="Production")
    assert live["DeliveryType"] == "Live"
    _error(account.put(f"/servers/{live['ID']}", json={"DeliveryType": "Sandbox"}), 511)
    _error(account.put(f"/servers/{created['ID']}", json={"DeliveryType": "Live"}), 511)
    r = account.put(f"/servers/{live['ID']}", json={"DeliveryType": "Live", "Color": "Green"})
    assert r.status_code == 200 and r.json()["Color"] == "Green"
    assert account.get(f"/servers/{live['ID']}").json()["DeliveryType"] == "Live"


def test_server_validation_and_unknown_ids(server: RunningServer) -> None:
    account = server.api(account=True)
    _create(account, Name="Unique")
    _error(account.post("/servers", json={"Name": "Unique"}), 603)
    _error(account.post("/servers", json={"Name": "unique"}), 603)
    _error(account.post("/servers", json={"Name": "  "}), 511)
    _error(account.post("/servers"), 511)  # bodyless: no Name
    _error(account.post("/servers", json={"Name": "Bad colour", "Color": "Magenta"}), 403)
    _error(account.post("/servers", json={"Name": "Bad hook", "BounceHookUrl": "ftp://x/y"}),
           403)
    _error(account.post("/servers", json={"Name": "Bad type", "DeliveryType": "Test"}), 403)
    _error(account.put(f"/servers/{server.server_id}", json={"InboundHookUrl": "not a url"}), 403)
    _error(account.put(f"/servers/{server.server_id}", json={"Name": "Unique"}), 603)
    assert account.get("/servers", params={"name": "Bad"}).json()["TotalCount"] == 0

    for method in ("GET", "PUT", "DELETE"):
        _error(account.request(method, "/servers/999999"), 601)
        _error(account.request(method, f"/servers/{2**64}"), 601)

    # The two token families are never interchangeable.
    _error(server.api().get("/servers"), 10, status=401)
    _error(server.api(token=server.server_token, account=True).get("/servers"), 10, status=401)
    _error(account.get("/server"), 10, status=401)
    _error(server.api(token="nope").get("/server"), 10, status=401)


def test_list_servers_paging_and_name_filter(server: RunningServer) -> None:
    account = server.api(account=True)
    for name in ("Alpha One", "Alpha Two", "Beta"):
        _create(account, Name=name)

    first = account.get("/servers", params={"count": 2, "offset": 0}).json()
    second = account.get("/Servers/", params={"Count": 2, "Offset": 2}).json()
    assert first["TotalCount"] == second["TotalCount"] == 4
    assert len(first["Servers"]) == len(second["Servers"]) == 2
    names = [s["Name"] for s in first["Servers"] + second["Servers"]]
    assert sorted(names) == ["Alpha One", "Alpha Two", "Beta", "Default"]
    assert all(set(s) == SERVER_KEYS for s in first["Servers"])

    alpha = account.get("/servers", params={"count": 10, "offset": 0, "name": "alpha"}).json()
    assert alpha["TotalCount"] == 2
    assert sorted(s["Name"] for s in alpha["Servers"]) == ["Alpha One", "Alpha Two"]
    assert account.get("/servers", params={"name": "gamma"}).json() == {
        "TotalCount": 0, "Servers": []}
    _error(account.get("/servers", params={"count": 0}), 511)


def test_edit_and_delete_server(server: RunningServer) -> None:
    account = server.api(account=True)
    created = _create(account, Name="Temporary")
    server_id = created["ID"]

    r = account.put(f"/servers/{server_id}", json={
        "name": "Renamed", "color": "purple", "TrackLinks": "HtmlOnly", "TrackOpens": True,
        "ClickHookUrl": "https://hooks.example.com/click", "SmtpApiActivated": None})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["Name"] == "Renamed" and edited["Color"] == "Purple"
    assert edited["TrackLinks"] == "HtmlOnly" and edited["TrackOpens"] is True
    assert edited["ClickHookUrl"] == "https://hooks.example.com/click"
    assert edited["SmtpApiActivated"] is True  # explicit null left it unchanged
    assert account.get(f"/servers/{server_id}").json() == edited
    r = account.put(f"/servers/{server_id}")  # bodyless PUT: nothing changes
    assert r.status_code == 200 and r.json() == edited
    _error(account.put(f"/servers/{server_id}", json={"TrackLinks": "Sometimes"}), 403)

    r = account.delete(f"/servers/{server_id}")
    assert r.status_code == 200
    assert r.json() == {"ErrorCode": 0, "Message": "Server Renamed removed."}
    _error(account.get(f"/servers/{server_id}"), 601)
    _error(server.api(created["ApiTokens"][0]).get("/server"), 10, status=401)
    assert account.get("/servers").json()["TotalCount"] == 1


def _bounce_count(api: httpx.Client) -> int:
    total: int = api.get("/bounces", params={"count": 50, "offset": 0}).json()["TotalCount"]
    return total


def _events_once_screened(api: httpx.Client, message_id: str) -> list[str]:
    def screened() -> list[str]:
        details = api.get(f"/messages/outbound/{message_id}/details").json()
        return [e["Type"] for e in details["MessageEvents"]]
    events: list[str] = wait_until(screened, message="message screened")
    return events


def test_smtp_api_error_hooks_switch_changes_smtp_outcome(server: RunningServer) -> None:
    api, account = server.api(), server.api(account=True)
    rcpt = "gone@example.com"
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": rcpt}]})
    assert r.json()["Suppressions"][0]["Status"] == "Suppressed"

    # Hooks off (the default): suppressed silently, no bounce.
    assert account.get(f"/servers/{server.server_id}").json()["EnableSmtpApiErrorHooks"] is False
    _, quiet = smtp_send(server, make_message(rcpt), [rcpt])
    assert _events_once_screened(api, quiet) == ["Suppressed"]
    assert _status(api, quiet) == "Suppressed"
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
    assert _events_once_screened(api, quiet_again) == ["Suppressed"]
    assert _bounce_count(api) == 1


def test_own_server_with_server_token(server: RunningServer) -> None:
    api = server.api()
    own = api.get("/server")
    assert own.status_code == 200
    body = own.json()
    assert set(body) == SERVER_KEYS
    assert body["ID"] == server.server_id and body["Name"] == "Default"
    assert body["DeliveryType"] == "Sandbox"
    assert server.server_token in body["ApiTokens"]

    r = api.put("/server", json={"EnableSmtpApiErrorHooks": True,
                                 "BounceHookUrl": "https://hooks.example.com/bounce",
                                 "IncludeBounceContentInHook": True})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["EnableSmtpApiErrorHooks"] is True
    assert edited["BounceHookUrl"] == "https://hooks.example.com/bounce"
    assert edited["IncludeBounceContentInHook"] is True
    assert {k: v for k, v in edited.items() if k not in (
        "EnableSmtpApiErrorHooks", "BounceHookUrl", "IncludeBounceContentInHook")} == {
        k: v for k, v in body.items() if k not in (
            "EnableSmtpApiErrorHooks", "BounceHookUrl", "IncludeBounceContentInHook")}
    assert api.get("/server/").json() == edited
    assert server.api(account=True).get(f"/servers/{server.server_id}").json() == edited

    r = api.put("/server", json={"BounceHookUrl": "", "IncludeBounceContentInHook": False})
    assert r.status_code == 200
    assert r.json()["BounceHookUrl"] == "" and r.json()["IncludeBounceContentInHook"] is False
    _error(api.put("/server", json={"BounceHookUrl": "mailto:x@example.com"}), 403)
    _error(api.put("/server", json={"DeliveryType": "Live"}), 511)
