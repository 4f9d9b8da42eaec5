"""Message Streams API: list, get, create and edit. Archiving, which both front doors
must honour, is tested over SMTP too: tests/e2e/test_api_streams_over_smtp.py."""

from __future__ import annotations

from tests.support.api_streams import STREAM_KEYS, create_stream, expect_error, stream_ids
from tests.support.in_process import InProcessServer


def test_list_default_streams_with_filters(server: InProcessServer) -> None:
    api = server.api()
    body = api.get("/message-streams").json()
    assert set(body) == {"MessageStreams", "TotalCount"}
    assert all(set(s) == STREAM_KEYS for s in body["MessageStreams"])
    by_id = {s["ID"]: s for s in body["MessageStreams"]}
    assert {k: v["MessageStreamType"] for k, v in by_id.items()} == {
        "outbound": "Transactional", "broadcast": "Broadcasts", "inbound": "Inbound"}
    assert by_id["outbound"]["ServerID"] == server.server_id
    assert by_id["outbound"]["ArchivedAt"] is None
    assert by_id["outbound"]["SubscriptionManagementConfiguration"] == {
        "UnsubscribeHandlingType": "None"}

    assert stream_ids(api, MessageStreamType="Broadcasts") == ["broadcast"]
    assert stream_ids(api, messagestreamtype="inbound") == ["inbound"]
    assert stream_ids(api, MessageStreamType="All") == ["broadcast", "inbound", "outbound"]
    assert api.get("/message-streams/outbound").json() == by_id["outbound"]
    assert api.get("/Message-Streams/Broadcast/").json() == by_id["broadcast"]
    expect_error(api.get("/message-streams/nosuchstream"), 1226)


def test_create_stream_id_rules(server: InProcessServer) -> None:
    api = server.api()
    made = create_stream(api, "news-letters_2", "Broadcasts", Description="Monthly news",
                   SubscriptionManagementConfiguration={"UnsubscribeHandlingType": "Postmark"})
    assert made["ID"] == "news-letters_2"
    assert made["ServerID"] == server.server_id
    assert made["Name"] == "news-letters_2 stream"
    assert made["Description"] == "Monthly news"
    assert made["MessageStreamType"] == "Broadcasts"
    assert made["SubscriptionManagementConfiguration"] == {"UnsubscribeHandlingType": "Postmark"}
    assert made["CreatedAt"].endswith("Z") and made["ArchivedAt"] is None
    assert api.get("/message-streams/news-letters_2").json() == made
    assert stream_ids(api, MessageStreamType="Broadcasts") == ["broadcast", "news-letters_2"]
    assert create_stream(api, "x" * 30)["ID"] == "x" * 30

    # Duplicates, including the defaults.
    for taken in ("news-letters_2", "outbound", "inbound"):
        expect_error(api.post("/message-streams", json={
            "ID": taken, "Name": "Again", "MessageStreamType": "Transactional"}), 1221)
    # Malformed IDs.
    for bad in ("", "has space", "-leading", "x" * 31, "bang!", "dot.ted"):
        expect_error(api.post("/message-streams", json={
            "ID": bad, "Name": "Bad", "MessageStreamType": "Transactional"}), 1222)
    # Type and name rules: Inbound streams cannot be created.
    expect_error(api.post("/message-streams", json={
        "ID": "more-inbound", "Name": "In", "MessageStreamType": "Inbound"}), 1222)
    expect_error(api.post("/message-streams", json={
        "ID": "typeless", "Name": "No type"}), 1222)
    expect_error(api.post("/message-streams", json={
        "ID": "nameless", "MessageStreamType": "Transactional"}), 1222)
    expect_error(api.post("/message-streams"), 1222)
    assert stream_ids(api) == ["broadcast", "inbound", "news-letters_2", "outbound", "x" * 30]


def test_edit_stream(server: InProcessServer) -> None:
    api = server.api()
    made = create_stream(api, "receipts", Description="before")
    assert made["UpdatedAt"] is None

    r = api.patch("/message-streams/receipts", json={"Name": "Receipts", "Description": "after"})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["Name"] == "Receipts" and edited["Description"] == "after"
    assert edited["MessageStreamType"] == "Transactional"
    assert edited["CreatedAt"] == made["CreatedAt"]
    assert edited["UpdatedAt"] is not None
    assert api.get("/message-streams/receipts").json() == edited

    r = api.patch("/message-streams/receipts", json={"description": "only this"})
    assert r.json()["Name"] == "Receipts" and r.json()["Description"] == "only this"
    r = api.patch("/message-streams/outbound", json={"Name": "Main transactional"})
    assert r.status_code == 200 and r.json()["Name"] == "Main transactional"
    expect_error(api.patch("/message-streams/receipts", json={"Name": "   "}), 1222)
    expect_error(api.patch("/message-streams/unknown", json={"Name": "X"}), 1226)
