"""Archiving a message stream, as both front doors honour it: REST sends are refused with
Postmark's errors, SMTP sends with a 550, until the stream is unarchived. The rest of the
Message Streams API is tested in process: tests/api/test_api_streams.py."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta

import httpx

from tests.support.api_streams import STREAM_KEYS, create_stream, expect_error, stream_ids
from tests.support.harness import RunningServer, make_message


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


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
    create_stream(api, "promo", Description="Promotions")
    assert _rest_send(api, "promo").status_code == 200

    r = api.post("/message-streams/promo/archive")
    assert r.status_code == 200, r.text
    archived = r.json()
    assert set(archived) == {"ID", "ServerID", "ExpectedPurgeDate"}
    assert archived["ID"] == "promo" and archived["ServerID"] == server.server_id
    purge = _when(archived["ExpectedPurgeDate"])
    assert purge > datetime.now(purge.tzinfo) + timedelta(days=1)

    assert "promo" not in stream_ids(api)
    assert "promo" in stream_ids(api, IncludeArchivedStreams="true")
    shown = api.get("/message-streams/promo").json()
    assert shown["ArchivedAt"] is not None
    assert shown["ExpectedPurgeDate"] == archived["ExpectedPurgeDate"]
    # Archiving twice keeps the first date.
    assert api.post("/message-streams/promo/archive").json() == archived

    # Sending into an archived stream is refused by both front doors.
    expect_error(_rest_send(api, "promo"), 1235)  # Postmark's: no such sending stream
    code, reply = _smtp_send_to(server, "promo")
    assert code == 550 and "archived" in reply

    r = api.post("/message-streams/promo/unarchive")
    assert r.status_code == 200, r.text
    restored = r.json()
    assert set(restored) == STREAM_KEYS
    assert restored["ArchivedAt"] is None and restored["ExpectedPurgeDate"] is None
    assert restored["Description"] == "Promotions"
    assert "promo" in stream_ids(api)
    assert _rest_send(api, "promo").status_code == 200
    assert _smtp_send_to(server, "promo")[0] == 250


def test_default_streams_cannot_be_archived(server: RunningServer) -> None:
    api = server.api()
    for stream in ("outbound", "inbound"):
        expect_error(api.post(f"/message-streams/{stream}/archive"), 1229)
        assert api.get(f"/message-streams/{stream}").json()["ArchivedAt"] is None
    expect_error(api.post("/message-streams/ghost/archive"), 1226)
    expect_error(api.post("/message-streams/ghost/unarchive"), 1226)

    # The default broadcast stream is not permanent.
    r = api.post("/message-streams/broadcast/archive")
    assert r.status_code == 200
    expect_error(_rest_send(api, "broadcast"), 1235)
    assert api.post("/message-streams/broadcast/unarchive").status_code == 200

    # Nobody sends into the inbound stream.
    expect_error(_rest_send(api, "inbound"), 1236)
    code, reply = _smtp_send_to(server, "inbound")
    assert code == 550 and "inbound" in reply
