"""Issue 9: an ID the API handed out is never handed out again after a delete, so a
client still holding a deleted server's or webhook's ID gets "not found", never a new
record. Both backends. Bounces cannot be deleted through Postmark's API and suppressions
have no ID in it, so servers and webhooks are what a client can observe here (every
integer-keyed table: tests/store/test_ids_never_reused.py)."""

from __future__ import annotations

from tests.support.api_servers import create_server, expect_error
from tests.support.in_process import InProcessServer


def test_a_deleted_servers_id_is_not_given_to_the_next_server(server: InProcessServer
                                                              ) -> None:
    account = server.api(account=True)
    gone = create_server(account, Name="Short lived")
    assert account.delete(f"/servers/{gone['ID']}").status_code == 200
    again = create_server(account, Name="Short lived")
    assert again["ID"] != gone["ID"] and again["ID"] > gone["ID"]
    expect_error(account.get(f"/servers/{gone['ID']}"), 601)
    assert account.get(f"/servers/{again['ID']}").json()["Name"] == "Short lived"


def test_a_deleted_webhooks_id_is_not_given_to_the_next_webhook(server: InProcessServer
                                                                ) -> None:
    api = server.api()
    first = api.post("/webhooks", json={"Url": "https://hooks.example.com/a"})
    assert first.status_code == 200, first.text
    gone = first.json()["ID"]
    assert api.delete(f"/webhooks/{gone}").status_code == 200
    second = api.post("/webhooks", json={"Url": "https://hooks.example.com/a"})
    assert second.status_code == 200, second.text
    assert second.json()["ID"] != gone and second.json()["ID"] > gone
    r = api.get(f"/webhooks/{gone}")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 1402, r.text
