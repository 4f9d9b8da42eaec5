"""The seed path over SMTP: suppressed recipients after the 250, with EnableSmtpApiErrorHooks
off (silently not delivered) and on (an SMTP API Error bounce and webhook per suppressed
recipient), per stream and case-insensitively, with either label set. Real smtplib, a real
webhook receiver, both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postlane.domain.records import MessageEvent
from postlane.domain.types import EventType, SuppressionOrigin, SuppressionReason
from postlane.store import messages, schema, suppressions
from tests.support.harness import RunningServer, WebhookReceiver, make_message, wait_until
from tests.support.smtp_support import (
    count_rows,
    custom_server,
    database,
    message_id,
    session,
    transmit,
)


def _enable_hooks(server: RunningServer) -> None:
    r = server.api(account=True).put(f"/servers/{server.server_id}",
                                     json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200 and r.json()["EnableSmtpApiErrorHooks"] is True, r.text


def _bounce_webhook(server: RunningServer, url: str, stream: str = "outbound") -> None:
    r = server.api().post("/webhooks", json={"Url": url, "MessageStream": stream,
                                             "Triggers": {"Bounce": {"Enabled": True}}})
    assert r.status_code == 200, r.text


def _suppress(server: RunningServer, stream: str, *emails: str) -> None:
    r = server.api().post(f"/message-streams/{stream}/suppressions",
                          json={"Suppressions": [{"EmailAddress": e} for e in emails]})
    assert r.status_code == 200, r.text
    assert [s["Status"] for s in r.json()["Suppressions"]] == ["Suppressed"] * len(emails)


def _send(server: RunningServer, rcpts: list[str], subject: str = "Hello") -> str:
    with session(server) as smtp:
        code, text = transmit(smtp, make_message(", ".join(rcpts), subject=subject), rcpts)
    assert code == 250, text
    return message_id(text)


def _details(server: RunningServer, mid: str) -> dict[str, Any]:
    body: dict[str, Any] = server.api().get(f"/messages/outbound/{mid}/details").json()
    return body


def _settled(server: RunningServer, mid: str, events: int) -> dict[str, Any] | None:
    """The message details once every recipient has its outcome event."""
    details = _details(server, mid)
    return details if len(details["MessageEvents"]) >= events else None


def _history(server: RunningServer, mid: str) -> list[MessageEvent]:
    """The message's events as Postlane keeps them (the dashboard's timeline)."""
    with database(server) as db, db.read() as conn:
        return messages.events_of(conn, mid)


def _bounces(server: RunningServer) -> dict[str, Any]:
    body: dict[str, Any] = server.api().get("/bounces", params={"count": 50, "offset": 0}).json()
    return body


def test_hooks_disabled_suppressed_recipient_is_dropped_silently(
        server: RunningServer, receiver: WebhookReceiver) -> None:
    _bounce_webhook(server, receiver.url)
    _suppress(server, "outbound", "gone@example.com")
    mid = _send(server, ["gone@example.com", "here@example.com"])

    history = wait_until(lambda: len(_history(server, mid)) >= 2 and _history(server, mid),
                         message="both outcomes")
    by_recipient = {e.recipient: e for e in history}
    assert by_recipient["gone@example.com"].event_type is EventType.SUPPRESSED
    assert by_recipient["gone@example.com"].details["SuppressionReason"] == "ManualSuppression"
    # The API shows Postmark's events only: Postmark has none for a recipient dropped
    # without a bounce, so only the delivered one is there.
    details = _details(server, mid)
    assert [(e["Recipient"], e["Type"]) for e in details["MessageEvents"]] == [
        ("here@example.com", "Delivered")]
    assert details["Status"] == "Sent"

    # No bounce, no webhook queued or sent.
    assert _bounces(server)["TotalCount"] == 0
    assert count_rows(server, schema.webhook_deliveries) == 0
    assert count_rows(server, schema.jobs, schema.jobs.c.kind == "notify") == 0
    assert receiver.bodies() == []


def test_hooks_enabled_mixed_message(server: RunningServer, receiver: WebhookReceiver) -> None:
    _enable_hooks(server)
    _bounce_webhook(server, receiver.url)
    _suppress(server, "outbound", "Test@Example.com")     # ManualSuppression, mixed case
    with database(server) as db, db.write() as conn:      # as a hard bounce would leave it
        assert suppressions.add(conn, server.server_id, "outbound", "hard@example.com",
                                SuppressionReason.HARD_BOUNCE, SuppressionOrigin.RECIPIENT)
    _suppress(server, "broadcast", "fine@example.com")    # another stream: no effect here

    rcpts = ["test@example.COM", "hard@example.com", "fine@example.com"]
    mid = _send(server, rcpts, subject="Mixed")

    hooks = wait_until(lambda: len(receiver.bodies()) >= 2 and receiver.bodies(),
                       message="two bounce webhooks")
    details = wait_until(lambda: _settled(server, mid, 3), message="three outcomes")

    listing = _bounces(server)
    assert listing["TotalCount"] == 2
    bounces = {b["Email"].lower(): b for b in listing["Bounces"]}
    assert set(bounces) == {"test@example.com", "hard@example.com"}
    assert "ManualSuppression" in bounces["test@example.com"]["Details"]
    assert "HardBounce" in bounces["hard@example.com"]["Details"]
    assert "ManualSuppression" not in bounces["hard@example.com"]["Details"]
    for bounce in bounces.values():
        assert (bounce["Type"], bounce["TypeCode"], bounce["Name"]) == (
            "InternalError", 4003, "SMTP API Error")
        assert bounce["MessageID"] == mid and bounce["MessageStream"] == "outbound"
        assert bounce["Subject"] == "Mixed" and bounce["Inactive"] is True

    assert len(hooks) == 2
    assert {h["Email"].lower() for h in hooks} == set(bounces)
    assert {h["ID"] for h in hooks} == {b["ID"] for b in bounces.values()}
    assert all(h["MessageID"] == mid and h["RecordType"] == "Bounce" for h in hooks)

    types = sorted((e["Type"], e["Recipient"].lower()) for e in details["MessageEvents"])
    assert types == [("Bounced", "hard@example.com"), ("Bounced", "test@example.com"),
                     ("Delivered", "fine@example.com")]
    assert details["Status"] == "Sent"
    assert count_rows(server, schema.webhook_deliveries) == 2
    assert len(receiver.bodies()) == 2


def test_suppression_on_one_stream_applies_only_there(server: RunningServer,
                                                      receiver: WebhookReceiver) -> None:
    _enable_hooks(server)
    _bounce_webhook(server, receiver.url, stream="broadcast")
    _suppress(server, "broadcast", "news@example.com")

    outbound = _send(server, ["news@example.com"])
    assert wait_until(lambda: _settled(server, outbound, 1))["Status"] == "Sent"

    with session(server) as smtp:
        msg = make_message("news@example.com", headers={"X-PM-Message-Stream": "broadcast"})
        code, text = transmit(smtp, msg, ["NEWS@example.com"])
    assert code == 250, text
    hooks = wait_until(receiver.bodies, message="broadcast bounce webhook")
    assert [(h["MessageStream"], h["MessageID"]) for h in hooks] == [
        ("broadcast", message_id(text))]
    assert _bounces(server)["TotalCount"] == 1


def test_postmark_labels(database_url: str, tmp_path: Path, receiver: WebhookReceiver) -> None:
    with custom_server(database_url, tmp_path / "data",
                       smtp_api_error_labels="postmark") as server:
        _enable_hooks(server)
        _bounce_webhook(server, receiver.url)
        _suppress(server, "outbound", "blocked@example.com")
        mid = _send(server, ["blocked@example.com"])

        hook = wait_until(receiver.bodies, message="bounce webhook")[0]
        assert (hook["Type"], hook["TypeCode"], hook["Name"]) == (
            "SMTPApiError", 100007, "SMTP API Error")
        assert hook["MessageID"] == mid
        assert "ManualSuppression" in hook["Details"]
        listing = server.api().get("/bounces", params={"count": 10, "offset": 0,
                                                       "type": "SMTPApiError"}).json()
        assert listing["TotalCount"] == 1
        assert (listing["Bounces"][0]["Type"], listing["Bounces"][0]["TypeCode"]) == (
            "SMTPApiError", 100007)
