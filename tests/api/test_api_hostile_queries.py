"""Hostile input to the REST API's readers (issue 12, "also" items): JSON nested far
deeper than any Postmark body, dates at and past the calendar's ends, and LIKE wildcards
in the search filters. Each answers a Postmark-shaped 422 or matches literally; none is a
500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from postlane.store import bounces
from postlane.store.database import Database
from postlane.store.schema import utcnow
from tests.support.in_process import InProcessServer
from tests.support.records import hard_bounce

#: Every listing that takes fromdate/todate.
DATED = ["/messages/outbound", "/bounces", "/message-streams/outbound/suppressions/dump"]
#: Dates that are not dates, or that leave the calendar once moved to UTC.
EXTREME_DATES = ["9999-99-99", "0000-01-01", "100000000000000000000", "-1",
                 "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
                 "9999-12-31T23:59:59.999999-00:01", "+10000-01-01", "2024-13-01",
                 "2024-01-15T25:00:00Z", "1e20", "NaN"]
#: Bodies whose nesting no Postmark request has, up to the JSON parser's own limit and past.
DEPTHS = [100, 500, 1000, 1023, 1025, 100_000]


def deep(depth: int, inner: str = "") -> str:
    return "[" * depth + inner + "]" * depth


def assert_postmark_422(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    body: dict[str, Any] = r.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] not in (0, 1), body
    return body


@pytest.mark.parametrize("path", DATED)
def test_extreme_dates_answer_422(server: InProcessServer, path: str) -> None:
    api = server.api()
    for name in ("fromdate", "todate"):
        for value in EXTREME_DATES:
            r = api.get(path, params={"count": 10, "offset": 0, name: value})
            body = assert_postmark_422(r)
            assert name in body["Message"], (value, body)


@pytest.mark.parametrize("path", DATED)
def test_the_calendar_ends_themselves_are_dates(server: InProcessServer, path: str) -> None:
    api = server.api()
    for params in ({"fromdate": "0001-01-01", "todate": "9999-12-31"},
                   {"fromdate": "0001-01-01T00:00:00Z", "todate": "9999-12-31T23:59:59Z"},
                   {"fromdate": "9999-12-31"}, {"todate": "0001-01-01"}):
        r = api.get(path, params={"count": 10, "offset": 0, **params})
        assert r.status_code == 200, (params, r.text)


def test_deep_json_answers_422_on_every_body(server: InProcessServer) -> None:
    api = server.api()
    posts = {"/email": lambda d: deep(d),
             "/email/batch": lambda d: "[" + deep(d) + "]",
             "/message-streams/outbound/suppressions":
                 lambda d: '{"Suppressions": ' + deep(d) + "}",
             "/webhooks": lambda d: '{"Url": "http://127.0.0.1:9/h", "Triggers": ' + deep(d) + "}"}
    for path, body in posts.items():
        for depth in DEPTHS:
            r = api.post(path, content=body(depth), headers={"Content-Type": "application/json"})
            assert_postmark_422(r)
    for depth in DEPTHS:  # inside a field of an otherwise good message
        nested = ('{"From": "s@example.com", "To": "t@example.com", "TextBody": "x", '
                  f'"Metadata": {{"k": {deep(depth)}}}}}')
        assert_postmark_422(api.post("/email", content=nested))
        r = server.api(account=True).put(f"/servers/{server.server_id}",
                                          content='{"Name": ' + deep(depth) + "}")
        assert_postmark_422(r)
    # Nothing was stored, and the server still answers.
    assert api.get("/messages/outbound", params={"count": 10, "offset": 0}
                   ).json()["TotalCount"] == 0


def _send(api: httpx.Client, subject: str, sender: str) -> None:
    r = api.post("/email", json={"From": sender, "To": "to@example.com", "Subject": subject,
                                 "TextBody": "x"})
    assert r.status_code == 200, r.text


def _subjects(api: httpx.Client, **params: str) -> list[str]:
    r = api.get("/messages/outbound", params={"count": 100, "offset": 0, **params})
    assert r.status_code == 200, r.text
    return sorted(m["Subject"] for m in r.json()["Messages"])


def test_like_wildcards_in_message_filters_match_literally(server: InProcessServer) -> None:
    api = server.api()
    _send(api, "100% off", "sales_team@example.com")
    _send(api, "a_b", "salesXteam@example.com")
    _send(api, "back\\slash", "plain@example.com")
    _send(api, "plain", "percent%sign@example.com")
    assert _subjects(api, subject="%") == ["100% off"]
    assert _subjects(api, subject="_") == ["a_b"]
    assert _subjects(api, subject="\\") == ["back\\slash"]
    assert _subjects(api, subject="/") == []
    assert _subjects(api, subject="0% OFF") == ["100% off"]  # still a case-blind substring
    assert _subjects(api, fromemail="sales_team") == ["100% off"]
    assert _subjects(api, fromemail="%") == ["plain"]
    assert _subjects(api, fromemail="_") == ["100% off"]
    assert _subjects(api, fromemail="s%s") == []


def test_like_wildcards_in_bounce_and_server_filters_match_literally(
        server: InProcessServer, db: Database) -> None:
    with db.write() as conn:
        bounces.insert_many(conn, [hard_bounce(server.server_id, email, True, utcnow())
                                   for email in ("a_b@example.com", "axb@example.com",
                                                 "c%d@example.com")])
    api = server.api()

    def emails(needle: str) -> list[str]:
        r = api.get("/bounces", params={"count": 100, "offset": 0, "emailFilter": needle})
        assert r.status_code == 200, r.text
        return sorted(b["Email"] for b in r.json()["Bounces"])

    assert emails("a_b") == ["a_b@example.com"]
    assert emails("_") == ["a_b@example.com"]
    assert emails("%") == ["c%d@example.com"]
    assert emails("AXB") == ["axb@example.com"]

    account = server.api(account=True)
    assert account.post("/servers", json={"Name": "50% team"}).status_code == 200
    assert account.post("/servers", json={"Name": "under_score"}).status_code == 200

    def names(needle: str) -> list[str]:
        r = account.get("/servers", params={"count": 100, "offset": 0, "name": needle})
        assert r.status_code == 200, r.text
        return sorted(s["Name"] for s in r.json()["Servers"])

    assert names("%") == ["50% team"]
    assert names("_") == ["under_score"]
