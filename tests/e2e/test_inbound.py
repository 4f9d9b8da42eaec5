"""The bounce MX end to end, on both backends: send a message through Postlane, deliver a
report about it with smtplib to the inbound listener, and see the bounce in the Bounce API,
the suppression list, the webhooks and the message's history."""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from postlane.domain import verp
from postlane.domain.records import InboundReport
from postlane.domain.retry import INTERNAL_SCHEDULE, max_attempts
from postlane.domain.types import JobKind
from postlane.store import jobs, signing_keys
from postlane.store import reports as stored_reports
from postlane.store.schema import jobs as jobs_table
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    start_server,
    wait_until,
)
from tests.support.harness import test_settings as settings_for  # not collected as a test

DATA = Path(__file__).parents[1] / "data" / "reports"
SAMPLE_ID = "5f0c2a8e-7b1d-4c3a-9e6f-0d4b8a2c1e7f"
SAMPLE_RETURN_PATH = f"pm_bounces+{SAMPLE_ID}@bounces.postlane.local"


def report_bytes(name: str, message_id: str, path: str | None = None) -> bytes:
    """A sample report about ``message_id`` (quoting the return path ``path``), with
    CRLF line ends as on the wire."""
    raw = (DATA / name).read_bytes()
    if path is not None:
        raw = raw.replace(SAMPLE_RETURN_PATH.encode(), path.encode())
    raw = raw.replace(SAMPLE_ID.encode(), message_id.encode())
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def send_report(server: RunningServer, raw: bytes, rcpt: str) -> tuple[int, bytes]:
    """Deliver a report like a remote MTA: null sender, one recipient, no AUTH."""
    with smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=30) as smtp:
        smtp.ehlo("mx1.example.net")
        assert smtp.mail("")[0] == 250
        code, reply = smtp.rcpt(rcpt)
        assert code == 250, reply
        return smtp.data(raw)


def return_path(server: RunningServer, message_id: str, email: str) -> str:
    """The return path of ``message_id``'s copy to ``email``, as the worker signs it (a
    Sandbox server sends no copy to read it from)."""
    key = signing_keys.verp_key(server.app.db, server.settings.verp_secret)
    return verp.Signer(key, server.settings.bounce_domain).return_path(message_id, email)


def send_mail(server: RunningServer, *rcpts: str) -> str:
    """Send over SMTP and wait until the (Sandbox) server has Sent it."""
    code, message_id = smtp_send(server, make_message(", ".join(rcpts), subject="Your receipt"),
                                 list(rcpts))
    assert code == 250
    with server.api() as api:
        wait_until(lambda: api.get(f"/messages/outbound/{message_id}/details").json()["Status"]
                   == "Sent", message="message sent")
    return message_id


def bounces(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    listing = api.get("/bounces", params={"count": 50, "offset": 0, **params}).json()
    found: list[dict[str, Any]] = listing["Bounces"]
    return found


def report_rows(server: RunningServer) -> list[InboundReport]:
    with server.app.db.read() as conn:
        return stored_reports.listing(conn)


def settled_report(server: RunningServer) -> InboundReport:
    """The one stored report, once the worker has dealt with it."""
    def done() -> InboundReport | None:
        rows = report_rows(server)
        return rows[0] if len(rows) == 1 and rows[0].state != "queued" else None
    row: InboundReport = wait_until(done, message="report processed")
    return row


def dsn_jobs_done(server: RunningServer) -> int:
    with server.app.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(jobs_table).where(
            jobs_table.c.kind == JobKind.DSN.value, jobs_table.c.state == "done")).scalar_one())


def suppressions(api: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(
        "/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    return found


@pytest.fixture
def second_receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def add_webhook(api: httpx.Client, url: str, trigger: str) -> None:
    r = api.post("/webhooks", json={"Url": url, "MessageStream": "outbound",
                                    "Triggers": {trigger: {"Enabled": True}}})
    assert r.status_code == 200, r.text


def test_hard_bounce_dsn(server: RunningServer, receiver: WebhookReceiver) -> None:
    api = server.api()
    add_webhook(api, receiver.url, "Bounce")
    message_id = send_mail(server, "nobody@example.net")

    code, reply = send_report(server, report_bytes("postfix_unknown_user.eml", message_id),
                              return_path(server, message_id, "nobody@example.net"))
    assert code == 250 and b"queued" in reply

    found = wait_until(lambda: bounces(api), message="bounce recorded")
    assert len(found) == 1
    bounce = found[0]
    assert (bounce["Type"], bounce["TypeCode"], bounce["Name"]) == ("HardBounce", 1, "Hard bounce")
    assert bounce["Inactive"] is True and bounce["CanActivate"] is True
    assert bounce["Email"] == "nobody@example.net" and bounce["MessageID"] == message_id
    assert "User unknown in local recipient table" in bounce["Details"]
    assert bounce["Subject"] == "Your receipt" and bounce["DumpAvailable"] is True
    dump = api.get(f"/bounces/{bounce['ID']}/dump").json()
    assert "Undelivered Mail Returned to Sender" in dump["Body"]

    assert [(s["EmailAddress"], s["SuppressionReason"], s["Origin"])
            for s in suppressions(api)] == [("nobody@example.net", "HardBounce", "Recipient")]

    hook = wait_until(receiver.bodies, message="bounce webhook")[0]
    assert (hook["RecordType"], hook["Type"], hook["TypeCode"]) == ("Bounce", "HardBounce", 1)
    assert hook["ID"] == bounce["ID"] and hook["MessageID"] == message_id

    details = api.get(f"/messages/outbound/{message_id}/details").json()
    assert details["Status"] == "Sent"  # it was sent; the DSN is the recipient's event
    event = details["MessageEvents"][-1]
    assert (event["Type"], event["Recipient"]) == ("Bounced", "nobody@example.net")
    # Postmark's Bounced Details: the Summary and the bounce (a HardBounce, above) by id.
    assert set(event["Details"]) == {"Summary", "BounceID"}
    assert event["Details"]["BounceID"] == str(bounce["ID"])

    row = settled_report(server)
    assert (row.state, row.kind, row.message_id) == ("processed", "dsn", message_id)
    assert row.server_id == server.server_id and "HardBounce" in row.note

    # The suppression holds for later mail: the REST API refuses the address.
    r = api.post("/email", json={"From": "sender@example.com", "To": "nobody@example.net",
                                 "Subject": "Again", "TextBody": "Hi"})
    assert r.status_code == 422 and r.json()["ErrorCode"] == 406

    # Running the report's job again (a crash after the work, a duplicate job) adds nothing.
    with server.app.db.write() as conn:
        jobs.enqueue(conn, JobKind.DSN, str(row.id), max_attempts(INTERNAL_SCHEDULE))
    wait_until(lambda: dsn_jobs_done(server) == 2, message="second dsn job done")
    assert len(bounces(api)) == 1
    assert len(receiver.bodies()) == 1
    assert len(api.get("/webhook-deliveries").json()["Deliveries"]) == 1


def test_spam_complaint(server: RunningServer, receiver: WebhookReceiver,
                        second_receiver: WebhookReceiver) -> None:
    api = server.api()
    add_webhook(api, receiver.url, "Bounce")
    add_webhook(api, second_receiver.url, "SpamComplaint")
    r = api.post("/email", json={"From": "sender@example.com", "To": "complainer@example.com",
                                 "Subject": "Your weekly digest", "TextBody": "Digest"})
    assert r.status_code == 200, r.text
    message_id = r.json()["MessageID"]

    # Feedback loops report to their own address: the original envelope sender they quote
    # carries the complainer's token.
    path = return_path(server, message_id, "complainer@example.com")
    code, _ = send_report(server, report_bytes("arf_abuse.eml", message_id, path),
                          f"fbl@{server.settings.bounce_domain}")
    assert code == 250

    (bounce,) = wait_until(lambda: bounces(api), message="complaint recorded")
    assert (bounce["Type"], bounce["TypeCode"]) == ("SpamComplaint", 100001)
    assert bounce["Inactive"] is True and bounce["CanActivate"] is False
    assert bounce["Email"] == "complainer@example.com" and bounce["MessageID"] == message_id
    assert [(s["EmailAddress"], s["SuppressionReason"], s["Origin"]) for s in suppressions(api)
            ] == [("complainer@example.com", "SpamComplaint", "Recipient")]

    # The customer cannot lift a recipient's complaint.
    r = api.post("/message-streams/outbound/suppressions/delete",
                 json={"Suppressions": [{"EmailAddress": "complainer@example.com"}]})
    assert r.json()["Suppressions"][0]["Status"] == "Failed"
    assert len(suppressions(api)) == 1

    hook = wait_until(second_receiver.bodies, message="complaint webhook")[0]
    assert (hook["RecordType"], hook["Type"]) == ("SpamComplaint", "SpamComplaint")
    assert hook["Email"] == "complainer@example.com"
    # Only the SpamComplaint-trigger webhook was queued; the Bounce one gets nothing.
    deliveries = api.get("/webhook-deliveries").json()["Deliveries"]
    assert [(d["Url"], d["RecordType"]) for d in deliveries] == [
        (second_receiver.url, "SpamComplaint")]
    assert receiver.bodies() == []
    assert settled_report(server).kind == "arf"


def test_transient_dsn_does_not_suppress(server: RunningServer) -> None:
    api = server.api()
    message_id = send_mail(server, "slow@example.com")
    code, _ = send_report(server, report_bytes("postfix_delayed.eml", message_id),
                          return_path(server, message_id, "slow@example.com"))
    assert code == 250
    (bounce,) = wait_until(lambda: bounces(api), message="transient recorded")
    assert (bounce["Type"], bounce["TypeCode"], bounce["Inactive"]) == ("Transient", 2, False)
    assert settled_report(server).state == "processed"
    assert suppressions(api) == []
    # A delay is not a fate: the message stays Sent.
    assert api.get(f"/messages/outbound/{message_id}/details").json()["Status"] == "Sent"


def test_multi_recipient_dsn_at_one_recipients_path_is_unmatched(server: RunningServer) -> None:
    """Each copy leaves in a transaction of its own, so a real report names only its own
    recipient: one naming the message's other recipients is forged, and changes nothing."""
    api = server.api()
    rcpts = ["gone@example.com", "alias@example.com", "late@example.com", "kept@example.com"]
    message_id = send_mail(server, *rcpts)
    code, _ = send_report(server, report_bytes("sendmail_multi_recipient.eml", message_id),
                          return_path(server, message_id, "gone@example.com"))
    assert code == 250
    row = settled_report(server)
    assert (row.state, row.message_id) == ("unmatched", message_id)
    assert "late@example.com" in row.note and "kept@example.com" in row.note
    assert bounces(api) == [] and suppressions(api) == []


def test_relay_is_denied_and_size_is_limited(database_url: str, tmp_path: Path) -> None:
    server = start_server(settings_for(database_url, tmp_path / "data",
                                       mx_max_report_bytes=4096))
    try:
        with smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=30) as smtp:
            smtp.ehlo("mx1.example.net")
            smtp.mail("")
            assert smtp.rcpt("victim@example.com") == (550, b"5.7.1 Relay access denied")
            assert smtp.rcpt(f"x@not-{server.settings.bounce_domain}")[0] == 550
            assert smtp.rcpt(f"fbl@{server.settings.bounce_domain}")[0] == 250
            code, _ = smtp.data(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 100)
            assert code == 552
        # Submission credentials change nothing: the bounce MX offers no AUTH to relay with.
        with smtplib.SMTP("127.0.0.1", server.inbound_port, timeout=30) as smtp:
            smtp.ehlo("client.example.com")
            assert not smtp.has_extn("auth")
        assert report_rows(server) == []
    finally:
        server.stop()


def test_unmatched_reports_are_kept(server: RunningServer) -> None:
    api = server.api()
    stranger = str(uuid.uuid4())  # names no message, in the VERP address and the quote
    path = return_path(server, stranger, "nobody@example.net")
    raw = report_bytes("postfix_unknown_user.eml", stranger, path)
    assert send_report(server, raw, path)[0] == 250
    row = settled_report(server)
    assert (row.state, row.kind, row.message_id) == ("unmatched", "dsn", None)
    assert f"quotes message {stranger}" in row.note
    with server.app.db.read() as conn:
        kept = stored_reports.get(conn, row.id)
    assert kept is not None and bytes(kept.raw).endswith(raw)
    assert bytes(kept.raw)[:-len(raw)].startswith(b"Received: from ")  # the MX's trace
    assert kept.rcpt_to == [path]
    assert bounces(api) == [] and suppressions(api) == []


def test_report_about_someone_else_suppresses_nobody(server: RunningServer) -> None:
    """A forged report naming an address the message was not sent to changes nothing."""
    api = server.api()
    message_id = send_mail(server, "real@example.com")
    raw = report_bytes("postfix_unknown_user.eml", message_id)  # names nobody@example.net
    assert send_report(server, raw, return_path(server, message_id, "real@example.com"))[0] == 250
    row = settled_report(server)
    assert (row.state, row.message_id) == ("unmatched", message_id)
    assert "nobody@example.net" in row.note
    assert bounces(api) == [] and suppressions(api) == []
    assert api.get(f"/messages/outbound/{message_id}/details").json()["Status"] == "Sent"
