"""REST sends through the group committer: concurrent requests share transactions, a
batch is one transaction, a cached token is checked again in the transaction that would
accept (a deleted server's token is refused at once), and a REST message is composed
from its stored fields after the 200 (domain.rendering) with the same bytes for every
reader."""

from __future__ import annotations

import concurrent.futures
import email
from email import policy

from tests.support.api_servers import create_server, expect_error
from tests.support.harness import wait_until
from tests.support.in_process import InProcessServer


def _message(index: int = 0, **fields: object) -> dict[str, object]:
    return {"From": "app@example.com", "To": f"user{index}@example.com",
            "Subject": f"Commit {index}", "TextBody": "Hello", **fields}


def test_a_batch_is_one_transaction(server: InProcessServer) -> None:
    api = server.api()
    before = server.committer.batches
    r = api.post("/email/batch", json=[_message(i) for i in range(50)])
    assert r.status_code == 200, r.text
    results = r.json()
    assert [item["ErrorCode"] for item in results] == [0] * 50
    assert len({item["MessageID"] for item in results}) == 50
    assert server.committer.batches == before + 1  # one commit held all fifty


def test_a_batch_keeps_each_refusal_its_own(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email/batch", json=[_message(0), {"From": "app@example.com"},
                                       _message(2, MessageStream="nosuchstream"), _message(3)])
    assert r.status_code == 200, r.text
    codes = [item["ErrorCode"] for item in r.json()]
    assert codes[0] == 0 and codes[3] == 0
    alone = api.post("/email", json=_message(2, MessageStream="nosuchstream")).json()
    assert codes[1] == 300 and codes[2] == alone["ErrorCode"] != 0  # as /email answers it
    for item in (r.json()[0], r.json()[3]):
        assert api.get(f"/messages/outbound/{item['MessageID']}/details").status_code == 200


def test_concurrent_sends_are_all_stored(server: InProcessServer) -> None:
    def send(index: int) -> str:
        with server.api() as api:
            r = api.post("/email", json=_message(index))
            assert r.status_code == 200, r.text
            message_id: str = r.json()["MessageID"]
            return message_id

    items_before = server.committer.items
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(send, range(40)))
    assert len(set(ids)) == 40
    assert server.committer.items >= items_before + 40
    api = server.api()
    for message_id in ids:
        assert api.get(f"/messages/outbound/{message_id}/details").status_code == 200


def test_a_deleted_servers_cached_token_is_refused(server: InProcessServer) -> None:
    created = create_server(server.api(account=True), Name="Short-lived")
    token = created["ApiTokens"][0]
    api = server.api(token=token)
    assert api.post("/email", json=_message()).status_code == 200  # now cached
    r = server.api(account=True).delete(f"/servers/{created['ID']}")
    assert r.status_code == 200, r.text
    expect_error(api.post("/email", json=_message()), 10, status=401)
    batch = api.post("/email/batch", json=[_message()])
    assert batch.status_code == 401 or batch.json()[0]["ErrorCode"] == 10, batch.text


def test_a_new_servers_token_sends_at_once(server: InProcessServer) -> None:
    created = create_server(server.api(account=True), Name="Brand new")
    r = server.api(token=created["ApiTokens"][0]).post("/email", json=_message())
    assert r.status_code == 200 and r.json()["ErrorCode"] == 0, r.text


def test_a_rest_message_has_the_same_bytes_for_every_reader(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email", json=_message(Headers=[{"Name": "X-Custom", "Value": "kept"}]))
    message_id = r.json()["MessageID"]
    first = api.get(f"/messages/outbound/{message_id}/dump").json()["Body"]
    wait_until(lambda: api.get(f"/messages/outbound/{message_id}/details").json()
               ["MessageEvents"])
    again = api.get(f"/messages/outbound/{message_id}/dump").json()["Body"]
    assert first == again
    parsed = email.message_from_string(first, policy=policy.default)
    assert parsed["Message-ID"] == f"<{message_id}@postlane.local>"
    assert parsed["X-Custom"] == "kept" and parsed["Date"]
    assert parsed.get_content().strip() == "Hello"


def test_a_line_break_hidden_in_an_encoded_word_is_refused_before_accepting(
        server: InProcessServer) -> None:
    api = server.api()
    hidden = "=?utf-8?q?hello=0D=0ABcc:_victim@example.com?="
    expect_error(api.post("/email", json=_message(Subject=hidden)), 300)
    expect_error(api.post("/email", json=_message(
        Headers=[{"Name": "X-Note", "Value": hidden}])), 300)
    r = api.get("/messages/outbound", params={"count": 50, "offset": 0})
    assert r.json()["TotalCount"] == 0
