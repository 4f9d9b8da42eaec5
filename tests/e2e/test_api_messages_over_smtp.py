"""Messages API (outbound): search with paging and every filter, details with events, dump.

Keys follow the OutboundMessage / OutboundMessageDetails models of Postmark's official
postmark.js client (models/messages/OutboundMessage.d.ts). The messages every test reads
include one sent over SMTP, so these run against a real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.support.harness import RunningServer, make_message, smtp_send, wait_until

SUMMARY_KEYS = {
    "Tag", "MessageID", "MessageStream", "To", "Cc", "Bcc", "Recipients", "ReceivedAt", "From",
    "Subject", "Attachments", "Status", "TrackOpens", "TrackLinks", "Metadata", "Sandboxed",
}
DETAIL_KEYS = SUMMARY_KEYS | {"TextBody", "HtmlBody", "Body", "MessageEvents"}
EVENT_KEYS = {"Recipient", "Type", "ReceivedAt", "Details"}
SUPPRESSED = "gone@example.com"


def _send(api: httpx.Client, **fields: Any) -> str:
    body = {"From": "sender@example.com", "TextBody": "Hello", **fields}
    r = api.post("/email", json=body)
    assert r.status_code == 200 and r.json()["ErrorCode"] == 0, r.text
    message_id: str = r.json()["MessageID"]
    return message_id


@pytest.fixture
def sent(server: RunningServer) -> dict[str, str]:
    """Four messages, oldest first: a broadcast digest, two receipts, one SMTP bounce."""
    api = server.api()
    ids = {
        "digest": _send(api, From="News <news@example.com>", To="Alice <alice@example.com>",
                        Cc="carol@example.com", Subject="Weekly digest", Tag="digest",
                        HtmlBody="<p>Digest</p>", Metadata={"issue": "42"},
                        MessageStream="broadcast"),
        "receipt1": _send(api, To="bob@example.com", Subject="Receipt 1", Tag="receipt"),
        "receipt2": _send(api, To="bob@example.com", Subject="Receipt 2", Tag="receipt"),
    }
    api.put("/server", json={"EnableSmtpApiErrorHooks": True})
    api.post("/message-streams/outbound/suppressions",
             json={"Suppressions": [{"EmailAddress": SUPPRESSED}]})
    _, ids["lost"] = smtp_send(server, make_message(SUPPRESSED, subject="Lost"), [SUPPRESSED])
    wait_until(lambda: _search(api, status="queued")["TotalCount"] == 0
               and _search(api)["TotalCount"] == 4, message="all messages processed")
    return ids


def _search(api: httpx.Client, **params: Any) -> dict[str, Any]:
    r = api.get("/messages/outbound", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"TotalCount", "Messages"}
    return body


def _found(api: httpx.Client, ids: dict[str, str], **params: Any) -> set[str]:
    names = {v: k for k, v in ids.items()}
    body = _search(api, count=50, offset=0, **params)
    assert body["TotalCount"] == len(body["Messages"])
    return {names[m["MessageID"]] for m in body["Messages"]}


def test_search_paging(server: RunningServer, sent: dict[str, str]) -> None:
    api = server.api()
    newest_first = [sent[k] for k in ("lost", "receipt2", "receipt1", "digest")]
    assert [m["MessageID"] for m in _search(api)["Messages"]] == newest_first
    pages = [_search(api, count=2, offset=offset) for offset in (0, 2, 4)]
    assert [p["TotalCount"] for p in pages] == [4, 4, 4]
    assert [m["MessageID"] for p in pages for m in p["Messages"]] == newest_first
    assert pages[2]["Messages"] == []
    assert [m["MessageID"] for m in _search(api, Count=1, Offset=3)["Messages"]] == [
        sent["digest"]]

    for bad in ({"count": 0}, {"count": 501}, {"offset": -1}, {"count": "ten"},
                {"fromdate": "yesterday"}):
        r = api.get("/messages/outbound", params=bad)
        assert r.status_code == 422 and r.json()["ErrorCode"] == 511, (bad, r.text)


def test_search_filters(server: RunningServer, sent: dict[str, str]) -> None:
    api = server.api()
    assert _found(api, sent, recipient="bob@example.com") == {"receipt1", "receipt2"}
    assert _found(api, sent, recipient="CAROL@example.com") == {"digest"}  # a Cc
    assert _found(api, sent, recipient="nobody@example.com") == set()
    assert _found(api, sent, fromemail="news@example.com") == {"digest"}
    assert _found(api, sent, tag="receipt") == {"receipt1", "receipt2"}
    assert _found(api, sent, tag="rec") == set()
    # Postmark's Status values: the suppressed recipient's message was Blocked.
    assert _found(api, sent, status="blocked") == {"lost"}
    assert _found(api, sent, status="Sent") == {"digest", "receipt1", "receipt2"}
    assert _found(api, sent, status="queued") == set()
    assert _found(api, sent, status="bounced") == set()  # an event type, not a Status
    assert _found(api, sent, subject="Receipt 2") == {"receipt2"}
    assert _found(api, sent, messagestream="broadcast") == {"digest"}
    assert _found(api, sent, messagestream="outbound") == {"receipt1", "receipt2", "lost"}
    assert _found(api, sent, tag="receipt", subject="Receipt 1") == {"receipt1"}
    assert _found(api, sent, RECIPIENT="bob@example.com", MessageStream="broadcast") == set()
    assert _found(api, sent, metadata_issue="42") == {"digest"}
    assert _found(api, sent, metadata_issue="4") == set()
    assert _found(api, sent, metadata_other="42") == set()

    received = _search(api)["Messages"][-1]["ReceivedAt"]
    day = datetime.fromisoformat(received).date()
    everything = {"digest", "receipt1", "receipt2", "lost"}

    assert _found(api, sent, fromdate=day.isoformat()) == everything
    assert _found(api, sent, todate=day.isoformat()) == everything  # inclusive of the whole day
    assert _found(api, sent, fromdate=(day + timedelta(days=2)).isoformat()) == set()
    assert _found(api, sent, todate=(day - timedelta(days=1)).isoformat()) == set()
    assert _found(api, sent, fromdate="2000-01-01T00:00:00Z",
                  todate="2999-01-01T00:00:00") == everything
    assert _found(api, sent, todate="2000-01-01T00:00:00Z") == set()


def test_summary_details_and_dump(server: RunningServer, sent: dict[str, str]) -> None:
    api = server.api()
    summary = next(m for m in _search(api)["Messages"] if m["MessageID"] == sent["digest"])
    assert set(summary) == SUMMARY_KEYS
    assert summary["To"] == [{"Email": "alice@example.com", "Name": "Alice"}]
    assert summary["Cc"] == [{"Email": "carol@example.com", "Name": ""}]
    assert summary["Bcc"] == []
    assert summary["Recipients"] == ["alice@example.com", "carol@example.com"]
    assert summary["From"] == "News <news@example.com>"
    assert summary["Subject"] == "Weekly digest" and summary["Tag"] == "digest"
    assert summary["MessageStream"] == "broadcast"
    assert summary["Status"] == "Sent"
    assert summary["Metadata"] == {"issue": "42"}
    assert summary["Sandboxed"] is True  # the Default server is a Sandbox server
    assert summary["Attachments"] == [] and summary["TrackLinks"] == "None"
    assert summary["ReceivedAt"].endswith("Z")

    r = api.get(f"/messages/outbound/{sent['digest']}/details")
    assert r.status_code == 200
    details = r.json()
    assert set(details) == DETAIL_KEYS
    assert {k: details[k] for k in SUMMARY_KEYS} == summary
    assert details["TextBody"] == "Hello"
    assert details["HtmlBody"] == "<p>Digest</p>"
    assert "Subject: Weekly digest" in details["Body"]
    events = details["MessageEvents"]
    assert all(set(e) == EVENT_KEYS for e in events)
    assert sorted((e["Recipient"], e["Type"]) for e in events) == [
        ("alice@example.com", "Delivered"), ("carol@example.com", "Delivered")]
    assert all(e["ReceivedAt"].endswith("Z") and "DeliveryMessage" in e["Details"]
               for e in events)

    dump = api.get(f"/Messages/Outbound/{sent['digest'].upper()}/Dump/")
    assert dump.status_code == 200 and dump.json() == {"Body": details["Body"]}

    lost = api.get(f"/messages/outbound/{sent['lost']}/details").json()
    assert lost["Status"] == "Blocked" and lost["Subject"] == "Lost"
    [bounced] = lost["MessageEvents"]
    assert bounced["Type"] == "Bounced" and bounced["Recipient"] == SUPPRESSED
    [bounce] = api.get("/bounces", params={"count": 10, "offset": 0}).json()["Bounces"]
    assert str(bounced["Details"]["BounceID"]) == str(bounce["ID"])
    assert "ManualSuppression" in bounced["Details"]["Summary"]


def test_unknown_and_foreign_messages(server: RunningServer, sent: dict[str, str]) -> None:
    api = server.api()
    unknown = "00000000-0000-0000-0000-000000000000"
    for path in (f"/messages/outbound/{unknown}/details", f"/messages/outbound/{unknown}/dump",
                 "/messages/outbound/not-a-guid/details"):
        r = api.get(path)
        assert r.status_code == 422, path
        assert r.json()["ErrorCode"] == 701 and set(r.json()) == {"ErrorCode", "Message"}

    other = server.api(account=True).post("/servers", json={"Name": "Other"}).json()
    other_api = server.api(other["ApiTokens"][0])
    assert _search(other_api) == {"TotalCount": 0, "Messages": []}
    r = other_api.get(f"/messages/outbound/{sent['digest']}/details")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 701


@pytest.fixture
def statements(server: RunningServer) -> Iterator[list[str]]:
    """Every SQL statement the server runs while the test holds this list."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = server.app.db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_listing_reads_recipients_once_per_page(server: RunningServer, sent: dict[str, str],
                                                statements: list[str]) -> None:
    api = server.api()
    statements.clear()
    page = _search(api, count=4, offset=0)
    assert len(page["Messages"]) == 4
    assert all(m["Recipients"] for m in page["Messages"])
    recipient_reads = [s for s in statements if "FROM recipients" in s]
    assert len(recipient_reads) == 1, recipient_reads
