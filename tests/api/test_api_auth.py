"""Tokens (missing, wrong, wrong family) and the leniencies real Postmark clients rely on:
any-case keys, paths and query keys, trailing slashes, nulls, no body. Another server's
token, over mail sent by SMTP: tests/e2e/test_api_auth_over_smtp.py."""

from __future__ import annotations

import httpx
import pytest

from tests.support.in_process import InProcessServer

SERVER_PATHS = [("GET", "/bounces"), ("GET", "/deliverystats"), ("POST", "/email"),
                ("GET", "/message-streams/outbound/suppressions/dump"), ("GET", "/webhooks"),
                ("GET", "/messages/outbound"), ("GET", "/server")]


def assert_401(r: httpx.Response) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["ErrorCode"] == 10 and r.json()["Message"]


def bare(server: InProcessServer, headers: dict[str, str] | None = None) -> httpx.Client:
    return server.client(headers)


@pytest.mark.parametrize(("method", "path"), SERVER_PATHS)
def test_server_endpoints_need_a_server_token(server: InProcessServer, method: str,
                                              path: str) -> None:
    assert_401(bare(server).request(method, path))
    assert_401(server.api(token="not-a-token").request(method, path))
    assert_401(server.api(token=server.account_token).request(method, path))
    assert_401(server.api(account=True).request(method, path))


def test_account_endpoints_need_the_account_token(server: InProcessServer) -> None:
    assert_401(bare(server).get("/servers"))
    assert_401(server.api(account=True, token="wrong").get("/servers"))
    assert_401(server.api().get("/servers"))  # server token, server header
    assert_401(bare(server, {"X-Postmark-Account-Token": server.server_token}).get("/servers"))
    assert_401(server.api().put(f"/servers/{server.server_id}",
                                json={"EnableSmtpApiErrorHooks": True}))
    assert server.api(account=True).get(f"/servers/{server.server_id}").json()[
        "EnableSmtpApiErrorHooks"] is False


def test_case_insensitive_keys_paths_and_queries(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/EMAIL", json={"from": "sender@example.com", "TO": "to@example.com",
                                 "subject": "lower", "TEXTBODY": "x", "tag": "t",
                                 "headers": [{"NAME": "X-Lower", "value": "yes"}]})
    assert r.status_code == 200, r.text
    details = api.get(f"/Messages/Outbound/{r.json()['MessageID'].upper()}/Details").json()
    assert (details["Subject"], details["Tag"]) == ("lower", "t")
    assert "X-Lower: yes" in details["Body"]

    r = api.post("/Message-Streams/Outbound/Suppressions",
                 json={"suppressions": [{"emailaddress": "case@example.com"}]})
    assert r.json()["Suppressions"][0]["Status"] == "Suppressed"
    assert api.post("/email", json={"From": "s@example.com", "To": "case@example.com",
                                    "TextBody": "x"}).json()["ErrorCode"] == 406
    r = api.get("/Bounces", params={"COUNT": 1, "Offset": 0})
    assert r.status_code == 200 and r.json() == {"TotalCount": 0, "Bounces": []}
    r = api.get("/messages/outbound", params={"COUNT": 1, "OFFSET": 1})
    assert r.status_code == 200 and r.json()["TotalCount"] == 1
    assert r.json()["Messages"] == []
    r = api.get("/messages/outbound", params={"Count": 501})
    assert r.status_code == 422  # the key was understood, so its limit applies


def test_trailing_slashes(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email/", json={"From": "s@example.com", "To": "t@example.com",
                                  "TextBody": "x"})
    assert r.status_code == 200 and r.json()["ErrorCode"] == 0
    assert api.get("/bounces/", params={"count": 1, "offset": 0}).status_code == 200
    r = api.post("/message-streams/outbound/suppressions/",
                 json={"Suppressions": [{"EmailAddress": "slash@example.com"}]})
    assert r.status_code == 200
    r = api.get("/message-streams/outbound/suppressions/dump/")
    assert [s["EmailAddress"] for s in r.json()["Suppressions"]] == ["slash@example.com"]
    assert server.api(account=True).get(f"/servers/{server.server_id}/").status_code == 200


def test_explicit_nulls(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email", json={
        "From": "s@example.com", "To": "t@example.com", "Cc": None, "Bcc": None,
        "Subject": None, "Tag": None, "HtmlBody": None, "TextBody": "x", "ReplyTo": None,
        "Headers": None, "Attachments": None, "Metadata": None, "MessageStream": None,
        "TrackOpens": None, "TrackLinks": None})
    assert r.status_code == 200, r.text
    details = api.get(f"/messages/outbound/{r.json()['MessageID']}/details").json()
    assert details["MessageStream"] == "outbound" and details["Metadata"] == {}
    r = api.post("/webhooks", json={"Url": "http://127.0.0.1:9/hook", "MessageStream": None,
                                    "HttpAuth": None, "HttpHeaders": None, "Triggers": None})
    assert r.status_code == 200, r.text
    assert r.json()["MessageStream"] == "outbound"
    r = api.put("/server", json={"Name": None, "Color": None})
    assert r.status_code == 200 and r.json()["Name"] == "Default"
    r = api.post("/message-streams/outbound/suppressions", json={"Suppressions": None})
    assert r.status_code == 200 and r.json() == {"Suppressions": []}


def test_bodyless_requests(server: InProcessServer) -> None:
    api = server.api()
    before = api.get("/server").json()
    for path in ("/message-streams/outbound/suppressions",
                 "/message-streams/outbound/suppressions/delete"):
        r = api.post(path)
        assert r.status_code == 200, r.text
        assert r.json() == {"Suppressions": []}
        r = api.post(path, content=b"", headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and r.json() == {"Suppressions": []}
    r = api.put("/server")
    assert r.status_code == 200, r.text
    assert r.json() == before
    r = server.api(account=True).put(f"/servers/{server.server_id}")
    assert r.status_code == 200 and r.json() == before
    r = api.post("/email")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 300
