"""Server API: /servers with the account token, /server with a server token. Response
keys: tests.support.api_servers. A new server's token over SMTP, and the SMTP API Error
hooks switch: tests/e2e/test_api_servers_over_smtp.py."""

from __future__ import annotations

from postmark.models.servers.schemas import Server

from tests.support.api_servers import SERVER_KEYS, create_server, expect_error
from tests.support.in_process import InProcessServer


def test_server_validation_and_unknown_ids(server: InProcessServer) -> None:
    account = server.api(account=True)
    create_server(account, Name="Unique")
    expect_error(account.post("/servers", json={"Name": "Unique"}), 603)
    expect_error(account.post("/servers", json={"Name": "unique"}), 603)
    expect_error(account.post("/servers", json={"Name": "  "}), 511)
    expect_error(account.post("/servers"), 511)  # bodyless: no Name
    expect_error(account.post("/servers", json={"Name": "Bad colour", "Color": "Magenta"}), 403)
    expect_error(account.post("/servers", json={"Name": "Bad hook",
                                                "BounceHookUrl": "ftp://x/y"}), 403)
    expect_error(account.post("/servers", json={"Name": "Bad type", "DeliveryType": "Test"}), 403)
    expect_error(account.put(f"/servers/{server.server_id}",
                             json={"InboundHookUrl": "not a url"}), 403)
    expect_error(account.put(f"/servers/{server.server_id}", json={"Name": "Unique"}), 603)
    assert account.get("/servers", params={"name": "Bad"}).json()["TotalCount"] == 0

    for method in ("GET", "PUT", "DELETE"):
        expect_error(account.request(method, "/servers/999999"), 601)
        expect_error(account.request(method, f"/servers/{2**64}"), 601)

    # The two token families are never interchangeable.
    expect_error(server.api().get("/servers"), 10, status=401)
    expect_error(server.api(token=server.server_token, account=True).get("/servers"), 10,
                 status=401)
    expect_error(account.get("/server"), 10, status=401)
    expect_error(server.api(token="nope").get("/server"), 10, status=401)


def test_list_servers_paging_and_name_filter(server: InProcessServer) -> None:
    account = server.api(account=True)
    for name in ("Alpha One", "Alpha Two", "Beta"):
        create_server(account, Name=name)

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
    expect_error(account.get("/servers", params={"count": 0}), 511)


def test_edit_and_delete_server(server: InProcessServer) -> None:
    account = server.api(account=True)
    created = create_server(account, Name="Temporary")
    server_id = created["ID"]

    r = account.put(f"/servers/{server_id}", json={
        "name": "Renamed", "color": "purple", "TrackLinks": "HtmlOnly", "TrackOpens": True,
        "ClickHookUrl": "https://hooks.example.com/click", "SmtpApiActivated": None})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["Name"] == "Renamed" and edited["Color"] == "purple"
    Server.model_validate(edited)  # postmark-python's model of a server
    assert edited["TrackLinks"] == "HtmlOnly" and edited["TrackOpens"] is True
    assert edited["ClickHookUrl"] == "https://hooks.example.com/click"
    assert edited["SmtpApiActivated"] is True  # explicit null left it unchanged
    assert account.get(f"/servers/{server_id}").json() == edited
    r = account.put(f"/servers/{server_id}")  # bodyless PUT: nothing changes
    assert r.status_code == 200 and r.json() == edited
    expect_error(account.put(f"/servers/{server_id}", json={"TrackLinks": "Sometimes"}), 403)
    r = account.put(f"/servers/{server_id}", json={"TrackLinks": "textonly"})  # as /email
    assert r.status_code == 200 and r.json()["TrackLinks"] == "textonly"  # as given
    assert account.get(f"/servers/{server_id}").json()["TrackLinks"] == "textonly"

    r = account.delete(f"/servers/{server_id}")
    assert r.status_code == 200
    assert r.json() == {"ErrorCode": 0, "Message": "Server Renamed removed."}
    expect_error(account.get(f"/servers/{server_id}"), 601)
    expect_error(server.api(created["ApiTokens"][0]).get("/server"), 10, status=401)
    assert account.get("/servers").json()["TotalCount"] == 1


def test_own_server_with_server_token(server: InProcessServer) -> None:
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
    expect_error(api.put("/server", json={"BounceHookUrl": "mailto:x@example.com"}), 403)
    expect_error(api.put("/server", json={"DeliveryType": "Live"}), 511)


def test_a_name_with_non_ascii_capitals_is_taken_not_a_crash(server: InProcessServer) -> None:
    """SQLite's lower() folds ASCII only: the same name again must still be refused
    (603), never reach the unique index as a duplicate (500)."""
    account = server.api(account=True)
    create_server(account, Name="Ärger Äpfel")
    expect_error(account.post("/servers", json={"Name": "Ärger Äpfel"}), 603)
