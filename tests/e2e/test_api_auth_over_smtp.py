"""A server token sees only its own server: with a second server beside the first, its
bounces (raised by mail sent over SMTP), messages, webhooks and suppressions stay apart.
The other token rules: tests/api/test_api_auth.py."""

from __future__ import annotations

from tests.support.harness import RunningServer, make_message, smtp_send, wait_until


def test_a_server_token_sees_only_its_own_server(server: RunningServer) -> None:
    api = server.api()
    account = server.api(account=True)
    account.put(f"/servers/{server.server_id}", json={"EnableSmtpApiErrorHooks": True})
    r = api.post("/webhooks", json={"Url": "http://127.0.0.1:9/hook",
                                    "Triggers": {"Bounce": {"Enabled": True}}})
    webhook_id = r.json()["ID"]
    api.post("/message-streams/outbound/suppressions",
             json={"Suppressions": [{"EmailAddress": "gone@example.com"}]})
    code, message_id = smtp_send(server, make_message("gone@example.com"), ["gone@example.com"])
    assert code == 250
    bounce_id = wait_until(lambda: api.get("/bounces", params={"count": 1, "offset": 0})
                           .json()["Bounces"], message="bounce")[0]["ID"]

    r = account.post("/servers", json={"Name": "Second"})
    assert r.status_code == 200, r.text
    other = server.api(token=r.json()["ApiTokens"][0])
    assert other.get("/server").json()["ID"] == r.json()["ID"] != server.server_id

    assert other.get("/bounces", params={"count": 10, "offset": 0}).json() == {
        "TotalCount": 0, "Bounces": []}
    assert other.get("/deliverystats").json()["InactiveMails"] == 0
    assert other.get("/messages/outbound", params={"count": 10, "offset": 0}
                     ).json()["TotalCount"] == 0
    assert other.get("/webhooks").json() == {"Webhooks": []}
    assert other.get("/message-streams/outbound/suppressions/dump").json() == {
        "Suppressions": []}
    for r in (other.get(f"/bounces/{bounce_id}"), other.get(f"/bounces/{bounce_id}/dump"),
              other.put(f"/bounces/{bounce_id}/activate"),
              other.get(f"/messages/outbound/{message_id}/details"),
              other.get(f"/messages/outbound/{message_id}/dump"),
              other.get(f"/webhooks/{webhook_id}"),
              other.put(f"/webhooks/{webhook_id}", json={"Url": "http://127.0.0.1:9/x"}),
              other.delete(f"/webhooks/{webhook_id}")):
        assert r.status_code == 422, r.text
        assert r.json()["ErrorCode"] != 0
    # Its own suppression list is separate: deleting there leaves the first server's.
    other.post("/message-streams/outbound/suppressions/delete",
               json={"Suppressions": [{"EmailAddress": "gone@example.com"}]})
    r = other.post("/email", json={"From": "s@example.com", "To": "gone@example.com",
                                   "TextBody": "x"})
    assert r.status_code == 200 and r.json()["Message"] == "OK"

    # Nothing of the first server changed.
    assert api.get(f"/bounces/{bounce_id}").json()["Inactive"] is True
    assert api.get(f"/webhooks/{webhook_id}").json()["Url"] == "http://127.0.0.1:9/hook"
    dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    assert [s["EmailAddress"] for s in dump] == ["gone@example.com"]
    assert api.get("/messages/outbound", params={"count": 10, "offset": 0}
                   ).json()["TotalCount"] == 1
