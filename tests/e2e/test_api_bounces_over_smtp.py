"""Bounce API over real SMTP API Error bounces: search with paging and filters, a single
bounce with its content, dumps, activation, and delivery stats. Query limits and unknown
ids: tests/api/test_api_bounces.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from postmark.models.bounces.schemas import Bounce, DeliveryStats

from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.store import bounces, suppressions
from postlane.store.database import Database
from tests.support.harness import RunningServer, make_message, smtp_send, wait_until
from tests.support.records import hard_bounce

OLD = datetime(2024, 1, 15, 10, 30, tzinfo=UTC)


def enable_hooks(server: RunningServer) -> None:
    r = server.api(account=True).put(f"/servers/{server.server_id}",
                                     json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200 and r.json()["EnableSmtpApiErrorHooks"] is True


def suppress(api: httpx.Client, email: str, stream: str = "outbound") -> None:
    r = api.post(f"/message-streams/{stream}/suppressions",
                 json={"Suppressions": [{"EmailAddress": email}]})
    assert r.json()["Suppressions"][0]["Status"] == "Suppressed"


def total(api: httpx.Client, **params: Any) -> int:
    r = api.get("/bounces", params={"count": 500, "offset": 0, **params})
    assert r.status_code == 200, r.text
    count: int = r.json()["TotalCount"]
    return count


def search(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/bounces", params={"count": 500, "offset": 0, **params})
    assert r.status_code == 200, r.text
    assert r.json()["TotalCount"] == len(r.json()["Bounces"])
    found: list[dict[str, Any]] = r.json()["Bounces"]
    return found


def smtp_bounce(server: RunningServer, email: str, stream: str = "outbound", tag: str = "",
                subject: str = "Hello") -> str:
    """Send over SMTP to a suppressed address and wait for its bounce; returns MessageID."""
    api = server.api()
    before = total(api)
    headers = {"X-PM-Message-Stream": stream, "X-PM-Metadata-Order": "1234"}
    if tag:
        headers["X-PM-Tag"] = tag
    code, message_id = smtp_send(server, make_message(email, subject, headers=headers), [email])
    assert code == 250
    wait_until(lambda: total(api) == before + 1, message=f"bounce for {email}")
    return message_id


def insert_hard_bounce(db: Database, server: RunningServer, email: str, inactive: bool,
                       when: datetime = OLD) -> int:
    with db.write() as conn:
        return bounces.insert_many(conn, [hard_bounce(server.server_id, email, inactive,
                                                      when)])[0].id


def test_bounce_record(server: RunningServer) -> None:
    api = server.api()
    enable_hooks(server)
    suppress(api, "gone@example.com")
    message_id = smtp_bounce(server, "gone@example.com", tag="welcome", subject="Your order")
    (listed,) = search(api)
    r = api.get(f"/bounces/{listed['ID']}")
    assert r.status_code == 200
    bounce = r.json()
    assert set(bounce) >= {"RecordType", "ID", "Type", "TypeCode", "Name", "Tag", "MessageID",
                           "ServerID", "MessageStream", "Description", "Details", "Email",
                           "From", "BouncedAt", "DumpAvailable", "Inactive", "CanActivate",
                           "Subject", "Content"}
    assert bounce["RecordType"] == "Bounce"
    assert (bounce["Type"], bounce["TypeCode"], bounce["Name"]) == (
        "InternalError", 4003, "SMTP API Error")
    assert bounce["Description"] == "Recipient is on the suppression list"
    assert "ManualSuppression" in bounce["Details"]
    assert bounce["MessageID"] == message_id and bounce["ServerID"] == server.server_id
    assert bounce["MessageStream"] == "outbound" and bounce["Tag"] == "welcome"
    assert bounce["Email"] == "gone@example.com" and bounce["From"] == "sender@example.com"
    assert bounce["Subject"] == "Your order"
    assert bounce["BouncedAt"].endswith("Z")
    assert bounce["Inactive"] is True and bounce["CanActivate"] is True
    assert bounce["DumpAvailable"] is True
    assert "Subject: Your order" in bounce["Content"] and "Hi there" in bounce["Content"]
    assert {k: v for k, v in listed.items() if k != "Content"} == {
        k: v for k, v in bounce.items() if k != "Content"}
    r = api.get(f"/bounces/{bounce['ID']}/dump")
    assert r.status_code == 200 and r.json() == {"Body": bounce["Content"]}


def test_search_paging_and_filters(server: RunningServer, db: Database) -> None:
    api = server.api()
    enable_hooks(server)
    plan = [("a@one.example", "outbound", "t1"), ("b@one.example", "outbound", "t2"),
            ("c@two.example", "broadcast", "t1"), ("d@one.example", "outbound", ""),
            ("e@one.example", "outbound", "")]
    ids: dict[str, str] = {}
    for email, stream, tag in plan:
        suppress(api, email, stream)
        ids[email] = smtp_bounce(server, email, stream, tag)
    old_id = insert_hard_bounce(db, server, "old@one.example", inactive=False)

    pages = [api.get("/bounces", params={"count": 2, "offset": o}).json() for o in (0, 2, 4)]
    assert [p["TotalCount"] for p in pages] == [6, 6, 6]
    assert [len(p["Bounces"]) for p in pages] == [2, 2, 2]
    paged = [b["Email"] for p in pages for b in p["Bounces"]]
    # Newest first: the SMTP bounces in reverse order, then the 2024 one.
    assert paged == [e for e, _, _ in reversed(plan)] + ["old@one.example"]
    assert api.get("/bounces", params={"count": 2, "offset": 6}).json()["Bounces"] == []

    def emails(**params: Any) -> list[str]:
        return sorted(b["Email"] for b in search(api, **params))

    assert len(emails(type="InternalError")) == 5
    assert emails(type="hardbounce") == ["old@one.example"]
    assert emails(inactive="false") == ["old@one.example"]
    assert len(emails(inactive="true")) == 5
    assert emails(emailFilter="@two") == ["c@two.example"]
    assert emails(tag="t1") == ["a@one.example", "c@two.example"]
    assert emails(messageID=ids["b@one.example"]) == ["b@one.example"]
    assert emails(messagestream="broadcast") == ["c@two.example"]
    assert emails(fromdate="2024-01-01", todate="2024-01-15") == ["old@one.example"]
    today = datetime.now(UTC).date()
    assert len(emails(fromdate=str(today - timedelta(days=1)))) == 5
    assert emails(todate=str(today - timedelta(days=1))) == ["old@one.example"]
    assert emails(tag="t1", messagestream="outbound") == ["a@one.example"]
    assert [b["ID"] for b in search(api, type="HardBounce")] == [old_id]
    # postmark-python's Bounce model reads a Postmark-typed bounce; the seed's SMTP API Error
    # rows (Type "InternalError") need POSTLANE_SMTP_API_ERROR_LABELS=postmark for it.
    Bounce.model_validate(api.get(f"/bounces/{old_id}").json())
    # Legacy GET /bounces/tags: a plain list of the distinct non-empty tags.
    tags = api.get("/bounces/tags")
    assert tags.status_code == 200 and tags.json() == ["t1", "t2"]


def test_activate(server: RunningServer) -> None:
    api = server.api()
    enable_hooks(server)
    suppress(api, "back@example.com")
    smtp_bounce(server, "back@example.com")
    (bounce,) = search(api)
    r = api.put(f"/bounces/{bounce['ID']}/activate")
    assert r.status_code == 200, r.text
    assert r.json()["Message"] == "OK"
    assert r.json()["Bounce"]["ID"] == bounce["ID"] and r.json()["Bounce"]["Inactive"] is False
    assert api.get(f"/bounces/{bounce['ID']}").json()["Inactive"] is False
    dump = api.get("/message-streams/outbound/suppressions/dump").json()
    assert dump == {"Suppressions": []}
    # Activating again is harmless.
    assert api.put(f"/bounces/{bounce['ID']}/activate").status_code == 200

    code, message_id = smtp_send(server, make_message("back@example.com"), ["back@example.com"])
    assert code == 250
    wait_until(lambda: api.get(f"/messages/outbound/{message_id}/details").json()["Status"]
               == "Sent", message="delivery after activation")
    assert total(api) == 1


def test_spam_complaint_bounce_cannot_be_activated(server: RunningServer,
                                                   db: Database) -> None:
    api = server.api()
    enable_hooks(server)
    with db.write() as conn:
        suppressions.add(conn, server.server_id, "outbound", "spam@example.com",
                         SuppressionReason.SPAM_COMPLAINT, SuppressionOrigin.RECIPIENT)
    smtp_bounce(server, "spam@example.com")
    (bounce,) = search(api)
    assert bounce["CanActivate"] is False and "SpamComplaint" in bounce["Details"]
    r = api.put(f"/bounces/{bounce['ID']}/activate")
    assert r.status_code == 422
    assert r.json()["ErrorCode"] == 703
    assert api.get(f"/bounces/{bounce['ID']}").json()["Inactive"] is True
    dump = api.get("/message-streams/outbound/suppressions/dump").json()["Suppressions"]
    assert [s["EmailAddress"] for s in dump] == ["spam@example.com"]


def test_delivery_stats(server: RunningServer, db: Database) -> None:
    api = server.api()
    empty = api.get("/deliverystats").json()
    assert empty == {"InactiveMails": 0, "Bounces": [
        {"Name": "All", "Type": "All", "TypeCode": 0, "Count": 0}]}
    DeliveryStats.model_validate(empty)
    enable_hooks(server)
    suppress(api, "a@example.com")
    suppress(api, "b@example.com")
    for email in ("a@example.com", "a@example.com", "b@example.com"):
        smtp_bounce(server, email)
    insert_hard_bounce(db, server, "c@example.com", inactive=False)
    stats = api.get("/deliverystats").json()
    assert stats == {"InactiveMails": 2, "Bounces": [
        {"Name": "All", "Type": "All", "TypeCode": 0, "Count": 4},
        {"Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Count": 1},
        {"Type": "InternalError", "TypeCode": 4003, "Name": "SMTP API Error", "Count": 3},
    ]}
    DeliveryStats.model_validate(stats)
