"""SMTP DATA -> accept: the 250 reply names a GUID MessageID only once the message, its
recipients and its screen job are committed; Postmark's X-PM-* headers, Bcc, non-ASCII
subjects and SMTPUTF8 addresses come through. Real clients, both backends."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.policy import SMTPUTF8
from typing import Any

import aiosmtplib
import pytest
import sqlalchemy as sa

from postlane.store import messages as stored_messages
from postlane.store import schema
from tests.support.harness import RunningServer, make_message, wait_until
from tests.support.smtp_support import count_rows, database, message_id, session, transmit


def _details(server: RunningServer, mid: str) -> dict[str, Any]:
    response = server.api().get(f"/messages/outbound/{mid}/details")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _send(server: RunningServer, msg: EmailMessage, rcpts: list[str]) -> str:
    with session(server) as smtp:
        code, text = transmit(smtp, msg, rcpts)
    assert code == 250, text
    return message_id(text)


def _delivered(server: RunningServer, mid: str, expected: int) -> list[dict[str, Any]] | None:
    events = [e for e in _details(server, mid)["MessageEvents"] if e["Type"] == "Delivered"]
    return events if len(events) >= expected else None


def test_250_only_after_message_recipients_and_screen_job_are_stored(
        server: RunningServer) -> None:
    msg = make_message("Ann <ann@example.com>, bob@example.com", subject="Durable")
    envelope = ["ann@example.com", "Bob@Example.com", "BOB@example.com", "hidden@example.com"]
    with session(server) as smtp:
        code, text = transmit(smtp, msg, envelope)
        assert code == 250, text
        mid = message_id(text)
        # Checked while the session is still open, through a Database of our own.
        with database(server) as db, db.read() as conn:
            row = stored_messages.get(conn, None, mid)
            assert row is not None
            assert (row.server_id, row.stream, row.source, row.subject) == (
                server.server_id, "outbound", "smtp", "Durable")
            assert row.raw is not None and b"Subject: Durable" in row.raw
            recipients = stored_messages.recipients_of(conn, mid)
            # One row per distinct address (duplicates differing in case collapse).
            assert [r.email for r in recipients] == ["ann@example.com", "bob@example.com",
                                                      "hidden@example.com"]
            assert recipients[1].address == "Bob@Example.com"
            kinds = conn.execute(sa.select(schema.jobs.c.kind)
                                 .where(schema.jobs.c.ref == mid)).scalars().all()
            assert kinds.count("screen") == 1
        # A second message in the same session gets its own GUID.
        code, text = transmit(smtp, msg, ["ann@example.com"])
        assert code == 250 and message_id(text) != mid
    # And the pipeline picks it up (Sandbox: Sent).
    wait_until(lambda: _details(server, mid)["Status"] == "Sent", message="sandbox delivery")


@pytest.mark.parametrize("value", ["broadcast", "Broadcast"])
def test_message_stream_header_routes_to_that_stream(server: RunningServer, value: str) -> None:
    mid = _send(server, make_message("to@example.com",
                                     headers={"X-PM-Message-Stream": value}), ["to@example.com"])
    assert _details(server, mid)["MessageStream"] == "broadcast"
    listed = server.api().get("/messages/outbound", params={"count": 10, "offset": 0,
                                                           "messagestream": "broadcast"}).json()
    assert [m["MessageID"] for m in listed["Messages"]] == [mid]


@pytest.mark.parametrize("stream", ["no-such-stream", "inbound"])
def test_unusable_stream_is_550_and_nothing_is_stored(server: RunningServer,
                                                      stream: str) -> None:
    with session(server) as smtp:
        code, reply = transmit(smtp, make_message("to@example.com",
                                                  headers={"X-PM-Message-Stream": stream}),
                               ["to@example.com"])
        assert code == 550, reply
        assert stream in reply
        # The session goes on; the default stream still works.
        code, reply = transmit(smtp, make_message("to@example.com"), ["to@example.com"])
        assert code == 250, reply
    assert count_rows(server, schema.messages) == 1
    assert count_rows(server, schema.recipients) == 1
    assert count_rows(server, schema.jobs, schema.jobs.c.kind == "screen") == 1


def test_tag_metadata_and_bcc_are_recorded(server: RunningServer) -> None:
    msg = make_message("To One <to@example.com>", headers={
        "Cc": "cc@example.com", "X-PM-Tag": "welcome-email",
        "X-PM-Metadata-customer-id": "12345", "X-PM-Metadata-color": "blue",
    })
    mid = _send(server, msg, ["to@example.com", "cc@example.com", "secret@example.com"])
    details = _details(server, mid)
    assert details["Tag"] == "welcome-email"
    assert details["Metadata"] == {"customer-id": "12345", "color": "blue"}
    assert details["To"] == [{"Email": "to@example.com", "Name": "To One"}]
    assert details["Cc"] == [{"Email": "cc@example.com", "Name": ""}]
    assert details["Bcc"] == [{"Email": "secret@example.com", "Name": ""}]
    assert sorted(details["Recipients"]) == ["cc@example.com", "secret@example.com",
                                             "to@example.com"]
    # The Bcc recipient is a recipient like any other: it is delivered (Sandbox).
    events = wait_until(lambda: _delivered(server, mid, 3), message="three deliveries")
    assert {e["Recipient"] for e in events} == {"to@example.com", "cc@example.com",
                                                "secret@example.com"}
    # Search by tag finds it.
    found = server.api().get("/messages/outbound", params={"count": 10, "offset": 0,
                                                          "tag": "welcome-email"}).json()
    assert found["TotalCount"] == 1 and found["Messages"][0]["Metadata"]["color"] == "blue"


def test_non_ascii_subject(server: RunningServer) -> None:
    subject = "Grüße aus Köln — 東京 ✉"
    mid = _send(server, make_message("to@example.com", subject=subject, body="Ünïcødé body"),
                ["to@example.com"])
    details = _details(server, mid)
    assert details["Subject"] == subject
    assert details["TextBody"].strip() == "Ünïcødé body"


def test_smtputf8_addresses(server: RunningServer) -> None:
    """An internationalised mailbox, sent by aiosmtplib with the SMTPUTF8 extension."""
    msg = EmailMessage(policy=SMTPUTF8)
    msg["From"] = "Zoë <zoë@example.com>"
    msg["To"] = "josé@example.com"
    msg["Subject"] = "¡Hola José!"
    msg.set_content("Qué tal")

    async def send() -> str:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=server.smtp_port,
                                   start_tls=False, timeout=30) as smtp:
            await smtp.ehlo()
            assert smtp.supports_extension("smtputf8")
            await smtp.login(server.server_token, server.server_token)
            refused, reply = await smtp.send_message(msg)
            assert refused == {}
            return reply

    reply = asyncio.run(send())
    details = _details(server, message_id(reply))
    assert details["Recipients"] == ["josé@example.com"]
    assert details["To"] == [{"Email": "josé@example.com", "Name": ""}]
    assert details["Subject"] == "¡Hola José!"
    assert "zoë@example.com" in details["From"]
    assert "To: josé@example.com" in details["Body"]  # 8-bit headers, not RFC 2047
