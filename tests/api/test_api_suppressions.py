"""Suppressions API: create, dump with filters, delete; the customer's limits (SpamComplaint
is final) and the link to bounces (deleting a HardBounce suppression reactivates it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from postlane.domain.types import SuppressionOrigin, SuppressionReason
from postlane.store import bounces, suppressions
from postlane.store.database import Database
from postlane.store.schema import utcnow
from tests.support.in_process import InProcessServer
from tests.support.records import hard_bounce

BASE = "/message-streams/{}/suppressions"


def create(api: httpx.Client, *emails: str, stream: str = "outbound") -> httpx.Response:
    return api.post(BASE.format(stream),
                    json={"Suppressions": [{"EmailAddress": e} for e in emails]})


def delete(api: httpx.Client, *emails: str, stream: str = "outbound") -> httpx.Response:
    return api.post(BASE.format(stream) + "/delete",
                    json={"Suppressions": [{"EmailAddress": e} for e in emails]})


def dump(api: httpx.Client, stream: str = "outbound", **params: str) -> list[dict[str, Any]]:
    r = api.get(BASE.format(stream) + "/dump", params=params)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["Suppressions"]
    return found


def emails_of(entries: list[dict[str, Any]]) -> list[str]:
    return sorted(e["EmailAddress"] for e in entries)


def insert_suppression(db: Database, server: InProcessServer, email: str,
                       reason: SuppressionReason) -> None:
    with db.write() as conn:
        suppressions.add(conn, server.server_id, "outbound", email, reason,
                         SuppressionOrigin.RECIPIENT)


def test_create_and_dump(server: InProcessServer) -> None:
    api = server.api()
    r = create(api, "one@example.com", "Two@Example.com")
    assert r.status_code == 200
    assert r.json() == {"Suppressions": [
        {"EmailAddress": "one@example.com", "Status": "Suppressed", "Message": None},
        {"EmailAddress": "Two@Example.com", "Status": "Suppressed", "Message": None},
    ]}
    entries = dump(api)
    assert emails_of(entries) == ["one@example.com", "two@example.com"]
    for entry in entries:
        assert set(entry) == {"EmailAddress", "SuppressionReason", "Origin", "CreatedAt"}
        assert entry["SuppressionReason"] == "ManualSuppression"
        assert entry["Origin"] == "Customer"
        assert entry["CreatedAt"].endswith("Z")


def test_recreate_is_idempotent_and_keeps_the_reason(server: InProcessServer,
                                                     db: Database) -> None:
    api = server.api()
    insert_suppression(db, server, "spam@example.com", SuppressionReason.SPAM_COMPLAINT)
    assert create(api, "dup@example.com").status_code == 200
    r = create(api, "DUP@example.com", "spam@example.com")
    assert [s["Status"] for s in r.json()["Suppressions"]] == ["Suppressed", "Suppressed"]
    entries = {e["EmailAddress"]: e for e in dump(api)}
    assert sorted(entries) == ["dup@example.com", "spam@example.com"]
    assert entries["spam@example.com"]["SuppressionReason"] == "SpamComplaint"
    assert entries["spam@example.com"]["Origin"] == "Recipient"


def test_invalid_addresses_and_limits(server: InProcessServer) -> None:
    api = server.api()
    r = create(api, "fine@example.com", "not-an-address", "")
    assert r.status_code == 200
    statuses = r.json()["Suppressions"]
    assert [s["Status"] for s in statuses] == ["Suppressed", "Failed", "Failed"]
    assert "invalid" in statuses[1]["Message"].lower()
    assert emails_of(dump(api)) == ["fine@example.com"]

    many = [f"user{i}@example.com" for i in range(51)]
    for call in (create, delete):
        r = call(api, *many)
        assert r.status_code == 422
        assert "50" in r.json()["Message"] and r.json()["ErrorCode"] != 0
    assert emails_of(dump(api)) == ["fine@example.com"]
    assert create(api, *many[:50]).status_code == 200
    assert len(dump(api)) == 51


def test_dump_filters(server: InProcessServer, db: Database) -> None:
    api = server.api()
    create(api, "manual@example.com")
    insert_suppression(db, server, "spam@example.com", SuppressionReason.SPAM_COMPLAINT)
    insert_suppression(db, server, "hard@example.com", SuppressionReason.HARD_BOUNCE)

    assert emails_of(dump(api, SuppressionReason="SpamComplaint")) == ["spam@example.com"]
    assert emails_of(dump(api, suppressionreason="hardbounce")) == ["hard@example.com"]
    assert emails_of(dump(api, Origin="Customer")) == ["manual@example.com"]
    assert emails_of(dump(api, Origin="Recipient")) == ["hard@example.com", "spam@example.com"]
    assert emails_of(dump(api, EmailAddress="MANUAL@example.com")) == ["manual@example.com"]
    assert dump(api, EmailAddress="nobody@example.com") == []

    today = datetime.now(UTC).date()
    day = timedelta(days=1)
    assert dump(api, fromdate=str(today + day)) == []
    assert dump(api, todate=str(today - day)) == []
    assert len(dump(api, fromdate=str(today - day), todate=str(today + day))) == 3
    r = api.get(BASE.format("outbound") + "/dump", params={"fromdate": "last tuesday"})
    assert r.status_code == 422


def test_delete(server: InProcessServer) -> None:
    api = server.api()
    create(api, "a@example.com", "b@example.com")
    r = delete(api, "A@EXAMPLE.com", "never@example.com", "bad address")
    assert r.status_code == 200
    assert [s["Status"] for s in r.json()["Suppressions"]] == ["Deleted", "Deleted", "Failed"]
    assert r.json()["Suppressions"][0]["EmailAddress"] == "A@EXAMPLE.com"
    assert emails_of(dump(api)) == ["b@example.com"]
    # Deleted means sendable again through the REST API.
    r = api.post("/email", json={"From": "s@example.com", "To": "a@example.com",
                                 "TextBody": "back"})
    assert r.status_code == 200 and r.json()["Message"] == "OK"


def test_spam_complaint_cannot_be_deleted(server: InProcessServer, db: Database) -> None:
    api = server.api()
    insert_suppression(db, server, "spam@example.com", SuppressionReason.SPAM_COMPLAINT)
    r = delete(api, "spam@example.com")
    assert r.status_code == 200
    (result,) = r.json()["Suppressions"]
    assert result["Status"] == "Failed" and "SpamComplaint" in result["Message"]
    assert emails_of(dump(api)) == ["spam@example.com"]


def test_deleting_a_hard_bounce_suppression_reactivates_the_bounce(
        server: InProcessServer, db: Database) -> None:
    api = server.api()
    insert_suppression(db, server, "hard@example.com", SuppressionReason.HARD_BOUNCE)
    with db.write() as conn:
        (bounce,) = bounces.insert_many(conn, [hard_bounce(server.server_id, "hard@example.com",
                                                            True, utcnow())])
    bounce_id = bounce.id
    before = api.get(f"/bounces/{bounce_id}").json()
    assert before["Inactive"] is True and before["CanActivate"] is True
    r = delete(api, "hard@example.com")
    assert r.json()["Suppressions"][0]["Status"] == "Deleted"
    after = api.get(f"/bounces/{bounce_id}")
    assert after.status_code == 200
    assert after.json()["Inactive"] is False
    assert dump(api) == []
    assert api.get("/deliverystats").json()["InactiveMails"] == 0


def test_unknown_stream(server: InProcessServer) -> None:
    api = server.api()
    for r in (create(api, "x@example.com", stream="nope"),
              delete(api, "x@example.com", stream="nope"),
              api.get(BASE.format("nope") + "/dump")):
        assert r.status_code == 422
        assert r.json() == {"ErrorCode": 1226, "Message":  # Postmark's wording
                            "The message stream for the provided 'ID' was not found."}


def test_streams_have_separate_lists(server: InProcessServer) -> None:
    api = server.api()
    create(api, "shared@example.com", stream="outbound")
    create(api, "promo@example.com", stream="broadcast")
    assert emails_of(dump(api, "outbound")) == ["shared@example.com"]
    assert emails_of(dump(api, "broadcast")) == ["promo@example.com"]
    assert dump(api, "inbound") == []

    message = {"From": "s@example.com", "To": "shared@example.com", "TextBody": "x"}
    assert api.post("/email", json=message).json()["ErrorCode"] == 406
    r = api.post("/email", json={**message, "MessageStream": "broadcast"})
    assert r.status_code == 200 and r.json()["Message"] == "OK"

    delete(api, "shared@example.com", stream="broadcast")  # not there: outbound keeps it
    assert emails_of(dump(api, "outbound")) == ["shared@example.com"]


#: Entries Postmark fails one by one: not an object, no string EmailAddress, NUL in it.
BAD_ENTRIES: list[Any] = ["plain@example.com", None, 7, [], {"EmailAddress": 123},
                          {"EmailAddress": None}, {"EmailAddress": ["x@example.com"]},
                          {"EmailAddress": "nul\u0000@example.com"}, {"Other": "x"}]


def test_one_bad_entry_fails_only_itself(server: InProcessServer) -> None:
    """Issue 12: a bad entry used to refuse the whole request (403); it is its own
    Failed result, and the good entries around it are suppressed, then deleted."""
    api = server.api()
    for bad in BAD_ENTRIES:
        entries = [{"EmailAddress": "first@example.com"}, bad,
                   {"emailaddress": "Last@Example.com"}]
        for path, done in ((BASE.format("outbound"), "Suppressed"),
                           (BASE.format("outbound") + "/delete", "Deleted")):
            r = api.post(path, json={"Suppressions": entries})
            assert r.status_code == 200, (bad, r.text)
            results = r.json()["Suppressions"]
            assert [s["Status"] for s in results] == [done, "Failed", done], (bad, results)
            assert results[1]["Message"] == "An invalid email address was provided."
            assert all(isinstance(s["EmailAddress"], str) for s in results)
            assert results[2]["EmailAddress"] == "Last@Example.com"
            if done == "Suppressed":
                assert emails_of(dump(api)) == ["first@example.com", "last@example.com"]
        assert dump(api) == []


def test_a_body_that_is_not_a_suppressions_request_is_refused_whole(
        server: InProcessServer) -> None:
    api = server.api()
    for body in ([], "text", {"Suppressions": {"EmailAddress": "a@example.com"}},
                 {"Suppressions": "a@example.com"}):
        r = api.post(BASE.format("outbound"), json=body)
        assert r.status_code == 422 and r.json()["ErrorCode"] == 403, (body, r.text)
    assert api.post(BASE.format("outbound"), json={}).json() == {"Suppressions": []}
    assert api.post(BASE.format("outbound")).json() == {"Suppressions": []}
    assert dump(api) == []


COMPOSED = "Jos\u00e9@example.com"      # é as one code point (NFC)
DECOMPOSED = "Jose\u0301@example.com"  # e + combining acute (NFD): the same address


def test_composed_and_decomposed_spellings_are_one_suppression(
        server: InProcessServer) -> None:
    """Issue 12: keys are NFC as well as lower-cased, so both spellings of é name one
    suppression: created, found, screened and deleted by either."""
    api = server.api()
    assert [s["Status"] for s in create(api, COMPOSED, DECOMPOSED.upper()).json()[
        "Suppressions"]] == ["Suppressed", "Suppressed"]
    assert emails_of(dump(api)) == ["jos\u00e9@example.com"]
    assert emails_of(dump(api, EmailAddress=DECOMPOSED)) == ["jos\u00e9@example.com"]
    r = api.post("/email", json={"From": "s@example.com", "To": DECOMPOSED, "TextBody": "x"})
    assert r.status_code == 422 and r.json()["ErrorCode"] == 406, r.text
    r = api.post("/email", json={"From": "s@example.com", "To": f"{DECOMPOSED}, ok@example.com",
                                 "TextBody": "x"})
    assert r.status_code == 200 and "jos\u00e9@example.com" in r.json()["Message"], r.text
    assert delete(api, DECOMPOSED).json()["Suppressions"][0]["Status"] == "Deleted"
    assert dump(api) == []


def test_a_recipient_filter_finds_either_spelling(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email", json={"From": "s@example.com", "To": COMPOSED, "TextBody": "x"})
    assert r.status_code == 200, r.text
    for spelling in (COMPOSED, DECOMPOSED, DECOMPOSED.upper()):
        found = api.get("/messages/outbound", params={"count": 10, "offset": 0,
                                                      "recipient": spelling}).json()
        assert found["TotalCount"] == 1, spelling
