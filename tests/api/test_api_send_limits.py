"""POST /email within bounds (issue 12, item 6): Headers, Attachments, Metadata, bodies,
recipients and the message size are limited as Postmark documents them (ErrorCode 300,
nothing stored), and a request built to be expensive cannot freeze the event loop that
every other request shares."""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import httpx
import orjson
import pytest

from postlane.domain import limits
from tests.support.in_process import InProcessServer

#: What "promptly" means for a request made while a hostile one is in flight: generous
#: (the machine may be busy), and far below the 28 s a 200k-header request froze it for.
PROMPT = 5.0


def email(**fields: Any) -> dict[str, Any]:
    return {"From": "sender@example.com", "To": "to@example.com", "Subject": "Hi",
            "TextBody": "Hello", **fields}


def headers(n: int) -> list[dict[str, str]]:
    return [{"Name": f"X-Custom-{i}", "Value": f"value {i}"} for i in range(n)]


def attachments(n: int, size: int = 10) -> list[dict[str, str]]:
    content = base64.b64encode(b"a" * size).decode()
    return [{"Name": f"f{i}.txt", "Content": content, "ContentType": "text/plain"}
            for i in range(n)]


def stored(api: httpx.Client) -> int:
    total: int = api.get("/messages/outbound", params={"count": 1, "offset": 0}
                         ).json()["TotalCount"]
    return total


def refused(r: httpx.Response, *fragments: str) -> None:
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    assert body["ErrorCode"] == 300, body
    for fragment in fragments:
        assert fragment in body["Message"], body


MB = 1024 * 1024
#: At the limit (accepted) and one past it (refused, naming the field and its limit).
BOUNDS: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, ...]]] = [
    ("Headers", {"Headers": headers(limits.MAX_HEADERS)},
     {"Headers": headers(limits.MAX_HEADERS + 1)}, ("Headers", str(limits.MAX_HEADERS))),
    ("Attachments", {"Attachments": attachments(limits.MAX_ATTACHMENTS)},
     {"Attachments": attachments(limits.MAX_ATTACHMENTS + 1)},
     ("Attachments", str(limits.MAX_ATTACHMENTS))),
    ("Metadata fields", {"Metadata": {f"k{i}": "v" for i in range(10)}},
     {"Metadata": {f"k{i}": "v" for i in range(11)}}, ("Metadata", "10")),
    ("Metadata name", {"Metadata": {"n" * 20: "v"}}, {"Metadata": {"n" * 21: "v"}},
     ("Metadata", "20")),
    ("Metadata value", {"Metadata": {"k": "v" * 80}}, {"Metadata": {"k": "v" * 81}},
     ("Metadata", "80")),
    ("Metadata case", {"Metadata": {"a_key": "1", "b_key": "2"}},
     {"Metadata": {"a_key": "1", "A_Key": "2"}}, ("a_key", "A_Key")),
    ("TextBody", {"TextBody": "t" * (5 * MB)}, {"TextBody": "t" * (5 * MB + 1)},
     ("TextBody", "5 MB")),
    ("HtmlBody", {"HtmlBody": "<p>" + "h" * (5 * MB - 3)},
     {"HtmlBody": "<p>" + "h" * (5 * MB - 2)}, ("HtmlBody", "5 MB")),
    ("Recipients", {"To": ", ".join(f"r{i}@example.com" for i in range(50))},
     {"To": ", ".join(f"r{i}@example.com" for i in range(25)),
      "Bcc": ", ".join(f"b{i}@example.com" for i in range(26))}, ("50",)),
    ("To length", {"To": "to@example.com"},
     {"To": "x" * (limits.MAX_LENGTH["To"] + 1) + "@example.com"},
     ("To", str(limits.MAX_LENGTH["To"]))),
]


@pytest.mark.parametrize(("within", "past", "fragments"),
                         [bound[1:] for bound in BOUNDS], ids=[bound[0] for bound in BOUNDS])
def test_limits(server: InProcessServer, within: dict[str, Any], past: dict[str, Any],
                fragments: tuple[str, ...]) -> None:
    api = server.api()
    refused(api.post("/email", json=email(**past)), *fragments)
    assert stored(api) == 0
    r = api.post("/email", json=email(**within))
    assert r.status_code == 200, r.text[:300]
    assert stored(api) == 1


def test_the_message_size_counts_attachments_as_sent(server: InProcessServer) -> None:
    """Postmark's 10 MB is the whole message after base64: refused before any MIME part is
    built, and an attachment that fits is accepted."""
    api = server.api()
    big = base64.b64encode(b"z" * (8 * MB)).decode()  # about 10.7 MB once encoded
    refused(api.post("/email", json=email(Attachments=[
        {"Name": "big.bin", "Content": big, "ContentType": "application/octet-stream"}])),
        "size limit")
    fits = base64.b64encode(b"z" * (6 * MB)).decode()
    r = api.post("/email", json=email(Attachments=[
        {"Name": "ok.bin", "Content": fits, "ContentType": "application/octet-stream"}]))
    assert r.status_code == 200, r.text[:300]


def test_batch_items_are_bounded_one_by_one(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email/batch", json=[email(Headers=headers(limits.MAX_HEADERS + 1)),
                                       email(Metadata={f"k{i}": "v" for i in range(11)}),
                                       email()])
    assert r.status_code == 200, r.text[:300]
    assert [item["ErrorCode"] for item in r.json()] == [300, 300, 0]
    assert stored(api) == 1


def _concurrent(server: InProcessServer, hostile: bytes, path: str = "/email"
                ) -> tuple[httpx.Response, list[float]]:
    """Post ``hostile`` while another client asks for /server over and over: the hostile
    answer, and how long each of the other requests took."""
    answer: dict[str, httpx.Response] = {}

    def post() -> None:
        answer["r"] = server.api().post(path, content=hostile,
                                        headers={"Content-Type": "application/json"})

    sender = threading.Thread(target=post)
    other = server.api()
    waits: list[float] = []
    sender.start()
    while sender.is_alive() or not waits:
        started = time.monotonic()
        assert other.get("/server").status_code == 200
        waits.append(time.monotonic() - started)
    sender.join()
    return answer["r"], waits


@pytest.mark.parametrize("count", [200_000, 2_000])
def test_a_flood_of_headers_is_refused_and_freezes_nothing(server: InProcessServer,
                                                           count: int) -> None:
    hostile = orjson.dumps(email(Headers=headers(count)))
    r, waits = _concurrent(server, hostile)
    refused(r, "Headers", str(limits.MAX_HEADERS))
    assert max(waits) < PROMPT, waits
    assert stored(server.api()) == 0


def test_expensive_but_valid_messages_do_not_freeze_the_loop(server: InProcessServer) -> None:
    """The most MIME a message may have (every header, every attachment, 10 MB) is built
    off the event loop: other requests are answered while it is composed."""
    body = email(Headers=headers(limits.MAX_HEADERS),
                 Attachments=attachments(limits.MAX_ATTACHMENTS, size=30_000),
                 TextBody="t" * (3 * MB // 2), HtmlBody="<p>" + "h" * (3 * MB // 2))
    r, waits = _concurrent(server, orjson.dumps(body))
    assert r.status_code == 200, r.text[:300]
    assert max(waits) < PROMPT, waits
    details = server.api().get(f"/messages/outbound/{r.json()['MessageID']}/details").json()
    assert len(details["Attachments"]) == limits.MAX_ATTACHMENTS


def test_a_huge_address_field_is_refused_without_parsing_it(server: InProcessServer) -> None:
    to = ", ".join(f'"Name {i}" <u{i}@example.com>' for i in range(300_000))
    r, waits = _concurrent(server, orjson.dumps(email(To=to)))
    refused(r, "To")
    assert max(waits) < PROMPT, waits


def test_a_huge_suppressions_request_is_refused_before_it_is_read(
        server: InProcessServer) -> None:
    many = {"Suppressions": [{"EmailAddress": f"u{i}@example.com"} for i in range(300_000)]}
    r, waits = _concurrent(server, orjson.dumps(many), "/message-streams/outbound/suppressions")
    assert r.status_code == 422 and r.json()["ErrorCode"] == 1300, r.text[:300]
    assert max(waits) < PROMPT, waits
