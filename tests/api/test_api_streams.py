"""Message Streams API: list, get, create, edit, archive and unarchive.

Keys follow the MessageStream model of Postmark's official postmark.js client
(models/streams/MessageStream.d.ts).
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.support.harness import RunningServer, make_message

STREAM_KEYS = {
    "ID", "ServerID", "Name", "Description", "MessageStreamType", "CreatedAt", "UpdatedAt",
    "ArchivedAt", "ExpectedPurgeDate", "SubscriptionManagementConfiguration",
}


def _error(response: httpx.Response, code: int) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == code, body


def _create(api: httpx.Client, stream_id: str, kind: str = "Transactional",
            **extra: Any) -> dict[str, Any]:
    r = api.post("/message-streams", json={"ID": stream_id, "Name": f"{stream_id} stream",
                                           "MessageStreamType": kind, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == STREAM_KEYS
    return body


def _ids(api: httpx.Client, **params: Any) -> list[str]:
    body = api.get("/message-streams", params=params).json()
    assert body["TotalCount"] == len(body["MessageStreams"])
    return sorted(s["ID"] for s in body["MessageStreams"])


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_list_default_streams_with_filters(server: RunningServer) -> None:
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

    assert _ids(api, MessageStreamType="Broadcasts") == ["broadcast"]
    assert _ids(api, messagestreamtype="inbound") == ["inbound"]
    assert _ids(api, MessageStreamType="All") == ["broadcast", "inbound", "outbound"]
    assert api.get("/message-streams/outbound").json() == by_id["outbound"]
    assert api.get("/Message-Streams/Broadcast/").json() == by_id["broadcast"]
    _error(api.get("/message-streams/nosuchstream"), 1226)


def test_create_stream_id_rules(server: RunningServer) -> None:
    api = server.api()
    made = _create(api, "news-letters_2", "Broadcasts", Description="Monthly news",
                   SubscriptionManagementConfiguration={"UnsubscribeHandlingType": "Postmark"})
    assert made["ID"] == "news-letters_2"
    assert made["ServerID"] == server.server_id
    assert made["Name"] == "news-letters_2 stream"
    assert made["Description"] == "Monthly news"
    assert made["MessageStreamType"] == "Broadcasts"
    assert made["SubscriptionManagementConfiguration"] == {"UnsubscribeHandlingType": "Postmark"}
    assert made["CreatedAt"].endswith("Z") and made["ArchivedAt"] is None
    assert api.get("/message-streams/news-letters_2").json() == made
    assert _ids(api, MessageStreamType="Broadcasts") == ["broadcast", "news-letters_2"]
    assert _create(api, "x" * 30)["ID"] == "x" * 30

    # Duplicates, including the defaults.
    for taken in ("news-letters_2", "outbound", "inbound"):
        _error(api.post("/message-streams", json={
            "ID": taken, "Name": "Again", "MessageStreamType": "Transactional"}), 1221)
    # Malformed IDs.
    for bad in ("", "has space", "-leading", "x" * 31, "bang!", "dot.ted"):
        _error(api.post("/message-streams", json={
            "ID": bad, "Name": "Bad", "MessageStreamType": "Transactional"}), 1222)
    # Type and name rules: Inbound streams cannot be created.
    _error(api.post("/message-streams", json={
        "ID": "more-inbound", "Name": "In", "MessageStreamType": "Inbound"}), 1222)
    _error(api.post("/message-streams", json={
        "ID": "typeless", "Name": "No type"}), 1222)
    _error(api.post("/message-streams", json={
        "ID": "nameless", "MessageStreamType": "Transactional"}), 1222)
    _error(api.post("/message-streams"), 1222)
    assert _ids(api) == ["broadcast", "inbound", "news-letters_2", "outbound", "x" * 30]


def test_edit_stream(server: RunningServer) -> None:
    api = server.api()
    made = _create(api, "receipts", Description="before")
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
    _error(api.patch("/message-streams/receipts", json={"Name": "   "}), 1222)
    _error(api.patch("/message-streams/unknown", json={"Name": "X"}), 1226)


def _rest_send(api: httpx.Client, stream: str) -> httpx.Response:
    return api.post("/email", json={"From": "sender@example.com", "To": "rcpt@example.com",
                                    "Subject": "Hi", "TextBody": "Hello",
                                    "MessageStream": stream})


def _smtp_send_to(server: RunningServer, stream: str) -> tuple[int, str]:
    """The DATA reply (smtplib returns it rather than raising when the final reply fails)."""
    msg = make_message("rcpt@example.com", headers={"X-PM-Message-Stream": stream})
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.login(server.server_token, server.server_token)
        smtp.mail("sender@example.com")
        smtp.rcpt("rcpt@example.com")
        code, reply = smtp.data(msg.as_bytes())
    return code, reply.decode()


def test_archive_refuses_sending_until_unarchived(server: RunningServer) -> None:
    api = server.api()
    _create(api, "promo", Description="Promotions")
    assert _rest_send(api, "promo").status_code == 200

    r = api.post("/message-streams/promo/archive")
    assert r.status_code == 200, r.text
    archived = r.json()
    assert set(archived) == {"ID", "ServerID", "ExpectedPurgeDate"}
    assert archived["ID"] == "promo" and archived["ServerID"] == server.server_id
    purge = _when(archived["ExpectedPurgeDate"])
    assert purge > datetime.now(purge.tzinfo) + timedelta(days=1)

    assert "promo" not in _ids(api)
    assert "promo" in _ids(api, IncludeArchivedStreams="true")
    shown = api.get("/message-streams/promo").json()
    assert shown["ArchivedAt"] is not None
    assert shown["ExpectedPurgeDate"] == archived["ExpectedPurgeDate"]
    # Archiving twice keeps the first date.
    assert api.post("/message-streams/promo/archive").json() == archived

    # Sending into an archived stream is refused by both front doors.
    _error(_rest_send(api, "promo"), 1227)
    code, reply = _smtp_send_to(server, "promo")
    assert code == 550 and "archived" in reply

    r = api.post("/message-streams/promo/unarchive")
    assert r.status_code == 200, r.text
    restored = r.json()
    assert set(restored) == STREAM_KEYS
    assert restored["ArchivedAt"] is None and restored["ExpectedPurgeDate"] is None
    assert restored["Description"] == "Promotions"
    assert "promo" in _ids(api)
    assert _rest_send(api, "promo").status_code == 200
    assert _smtp_send_to(server, "promo")[0] == 250


def test_default_streams_cannot_be_archived(server: RunningServer) -> None:
    api = server.api()
    for stream in ("outbound", "inbound"):
        _error(api.post(f"/message-streams/{stream}/archive"), 1222)
        assert api.get(f"/message-streams/{stream}").json()["ArchivedAt"] is None
    _error(api.post("/message-streams/ghost/archive"), 1226)
    _error(api.post("/message-streams/ghost/unarchive"), 1226)

    # The default broadcast stream is not permanent.
    r = api.post("/message-streams/broadcast/archive")
    assert r.status_code == 200
    _error(_rest_send(api, "broadcast"), 1227)
    assert api.post("/message-streams/broadcast/unarchive").status_code == 200

    # Nobody sends into the inbound stream.
    _error(_rest_send(api, "inbound"), 405)
    code, reply = _smtp_send_to(server, "inbound")
    assert code == 550 and "inbound" in reply
