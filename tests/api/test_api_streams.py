"""Message Streams API: list, get, create, edit, archive and unarchive, with Postmark's
12xx codes and wording. Archiving, which both front doors must honour, is tested over
SMTP too: tests/e2e/test_api_streams_over_smtp.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from postlane.store import streams
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
    assert create_stream(api, "y", "broadcasts", Name="N" * 100)["Name"] == "N" * 100

    def refused(code: int, message: str | None = None, **fields: Any) -> None:
        body = {"ID": "fine", "Name": "Fine", "MessageStreamType": "Transactional", **fields}
        r = api.post("/message-streams", json=body)
        expect_error(r, code)
        if message is not None:
            assert r.json()["Message"] == message

    # Duplicates, including the defaults (Postmark's 1230).
    for taken in ("news-letters_2", "outbound", "inbound"):
        refused(1230, "The 'ID' provided already exists for this server.", ID=taken)
    # A missing ID (1222), a malformed one (1227), Postmark's reserved ones (1233, 1237).
    for missing in (None, "", "   "):
        refused(1222, "A valid 'ID' must be provided.", ID=missing)
    for bad in ("has space", "-leading", "1digit", "x" * 31, "bang!", "dot.ted", "Upper"):
        refused(1227, ID=bad)
    refused(1233, "The 'ID' must not start with the 'pm-' prefix.", ID="pm-mine")
    refused(1237, "This 'ID' is reserved.", ID="all")
    # Name (1223, 1224) and Description (1231, 1234) rules.
    for nameless in (None, "", "  "):
        refused(1223, "A valid 'Name' must be provided.", Name=nameless)
    refused(1224, "The 'Name' is too long, it is limited to 100 characters.", Name="N" * 101)
    refused(1231, "The 'Description' is too long, it is limited to 1000 characters.",
            Description="d" * 1001)
    refused(1234, "The 'Description' must not contain HTML tags.", Description="<b>x</b>")
    # The type (1221); a second Inbound stream (1228: a server has one).
    for kind in (None, "", "Marketing"):
        refused(1221, "The 'MessageStreamType' associated with this request was invalid.",
                MessageStreamType=kind)
    refused(1228, "A server can only have one inbound stream.", MessageStreamType="Inbound")
    expect_error(api.post("/message-streams"), 1222)
    assert stream_ids(api) == ["broadcast", "inbound", "news-letters_2", "outbound", "x" * 30,
                               "y"]


def test_a_server_has_at_most_ten_streams(server: InProcessServer) -> None:
    """Postmark's limit (1225) counts archived streams: they can come back."""
    api = server.api()
    for n in range(6):  # with the three defaults: nine
        create_stream(api, f"s{n}")
    assert api.post("/message-streams/s0/archive").status_code == 200
    create_stream(api, "tenth")
    r = api.post("/message-streams", json={"ID": "eleventh", "Name": "One too many",
                                           "MessageStreamType": "Broadcasts"})
    expect_error(r, 1225)
    assert r.json()["Message"] == (
        "You have reached the maximum number of message streams for this server.")
    assert len(stream_ids(api, IncludeArchivedStreams="true")) == 10


def test_archive_and_unarchive(server: InProcessServer) -> None:
    api = server.api()
    create_stream(api, "promo", "Broadcasts", Description="Promotions")
    r = api.post("/message-streams/promo/archive")
    assert r.status_code == 200, r.text
    archived = r.json()
    assert set(archived) == {"ID", "ServerID", "ExpectedPurgeDate"}
    assert (archived["ID"], archived["ServerID"]) == ("promo", server.server_id)
    shown = api.get("/message-streams/promo").json()
    purge = datetime.fromisoformat(archived["ExpectedPurgeDate"])
    assert purge - datetime.fromisoformat(shown["ArchivedAt"]) == timedelta(days=45)
    assert shown["ExpectedPurgeDate"] == archived["ExpectedPurgeDate"]
    assert api.post("/message-streams/PROMO/archive").json() == archived  # first date kept

    # Sending into it: Postmark's 1235 (an archived stream is on its way to deletion).
    r = api.post("/email", json={"From": "a@example.com", "To": "b@example.com",
                                 "TextBody": "x", "MessageStream": "promo"})
    expect_error(r, 1235)
    assert r.json()["Message"] == "The 'MessageStream' provided does not exist on this server."

    r = api.post("/message-streams/promo/unarchive")
    assert r.status_code == 200, r.text
    restored = r.json()
    assert set(restored) == STREAM_KEYS and restored["ArchivedAt"] is None
    assert (restored["ID"], restored["Description"]) == ("promo", "Promotions")
    # A stream that is not archived cannot be unarchived (1232).
    r = api.post("/message-streams/promo/unarchive")
    expect_error(r, 1232)
    assert r.json()["Message"] == "You cannot unarchive this message stream anymore."
    expect_error(api.post("/message-streams/outbound/unarchive"), 1232)


def test_a_stream_past_its_purge_date_cannot_be_unarchived(server: InProcessServer) -> None:
    api = server.api()
    create_stream(api, "old")
    with server.app.db.write() as conn:  # archived 46 days ago: its purge date has passed
        streams.set_archived(conn, server.server_id, "old",
                             datetime.now(UTC) - timedelta(days=46))
    expect_error(api.post("/message-streams/old/unarchive"), 1232)
    assert api.get("/message-streams/old").json()["ArchivedAt"] is not None


def test_default_streams_cannot_be_archived(server: InProcessServer) -> None:
    api = server.api()
    for stream in ("outbound", "inbound"):
        r = api.post(f"/message-streams/{stream}/archive")
        expect_error(r, 1229)
        assert r.json()["Message"] == (
            "You cannot archive the default transactional and inbound streams.")
        assert api.get(f"/message-streams/{stream}").json()["ArchivedAt"] is None
    for action in ("archive", "unarchive"):
        r = api.post(f"/message-streams/ghost/{action}")
        expect_error(r, 1226)
        assert r.json()["Message"] == "The message stream for the provided 'ID' was not found."
    assert api.post("/message-streams/broadcast/archive").status_code == 200  # not a default


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
    expect_error(api.patch("/message-streams/receipts", json={"Name": "   "}), 1223)
    expect_error(api.patch("/message-streams/receipts", json={"Name": "N" * 101}), 1224)
    expect_error(api.patch("/message-streams/receipts", json={"Description": "a<b"}), 1234)
    expect_error(api.patch("/message-streams/unknown", json={"Name": "X"}), 1226)
