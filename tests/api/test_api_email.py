"""POST /email and /email/batch: the REST front door, its synchronous suppression check,
Postmark's validation errors, and what ends up stored."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from postmark.models.outbound import SendResponse

from tests.support.harness import wait_until
from tests.support.in_process import InProcessServer

INACTIVE_WORDING = (
    "You tried to send to recipient(s) that have been marked as inactive. "
    "Found inactive addresses: {}. Inactive recipients are ones that have generated a hard "
    "bounce, a spam complaint, or a manual suppression."
)


def email(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"From": "sender@example.com", "To": "to@example.com",
                            "Subject": "Hi", "TextBody": "Hello"}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def suppress(api: httpx.Client, *emails: str, stream: str = "outbound") -> None:
    r = api.post(f"/message-streams/{stream}/suppressions",
                 json={"Suppressions": [{"EmailAddress": e} for e in emails]})
    assert r.status_code == 200, r.text
    assert {s["Status"] for s in r.json()["Suppressions"]} == {"Suppressed"}


def message_count(api: httpx.Client) -> int:
    total: int = api.get("/messages/outbound", params={"count": 100, "offset": 0}
                         ).json()["TotalCount"]
    return total


def details(api: httpx.Client, message_id: str) -> dict[str, Any]:
    r = api.get(f"/messages/outbound/{message_id}/details")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def wait_sent(api: httpx.Client, message_id: str) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(
        lambda: (d := details(api, message_id))["Status"] == "Sent" and d,
        message="sandbox delivery")
    return found


def test_success_shape(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email", json=email(To="Someone <to@example.com>"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"To", "SubmittedAt", "MessageID", "ErrorCode", "Message"}
    assert body["To"] == "Someone <to@example.com>"
    assert body["ErrorCode"] == 0 and body["Message"] == "OK"
    assert body["SubmittedAt"].endswith("Z") and len(body["MessageID"]) == 36
    sent = wait_sent(api, body["MessageID"])
    assert sent["Recipients"] == ["to@example.com"]
    assert [e["Type"] for e in sent["MessageEvents"]] == ["Delivered"]


def test_all_recipients_inactive_is_406_and_nothing_stored(server: InProcessServer) -> None:
    api = server.api()
    suppress(api, "a@x.com", "b@y.com")
    r = api.post("/email", json=email(To="a@x.com", Cc="B@Y.com"))
    assert r.status_code == 422
    assert r.json() == {"ErrorCode": 406,
                        "Message": INACTIVE_WORDING.format("a@x.com, b@y.com")}
    assert message_count(api) == 0


def test_some_inactive_delivers_to_the_rest(server: InProcessServer) -> None:
    api = server.api()
    r = server.api(account=True).put(f"/servers/{server.server_id}",
                                     json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200
    suppress(api, "gone@example.com")
    r = api.post("/email", json=email(To="ok@example.com, gone@example.com",
                                      Bcc="also@example.com"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ErrorCode"] == 0
    assert "gone@example.com" in body["Message"]
    assert "ok@example.com" not in body["Message"]
    sent = wait_sent(api, body["MessageID"])
    assert sorted(sent["Recipients"]) == ["also@example.com", "ok@example.com"]
    assert sorted(e["Recipient"] for e in sent["MessageEvents"]) == [
        "also@example.com", "ok@example.com"]
    assert {e["Type"] for e in sent["MessageEvents"]} == {"Delivered"}
    # The REST path answers in the response: never an SMTP API Error bounce.
    bounces = api.get("/bounces", params={"count": 10, "offset": 0}).json()
    assert bounces == {"TotalCount": 0, "Bounces": []}


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"From": ...}, "From"),
    ({"From": "   "}, "From"),
    ({"From": "not an address"}, "Invalid email address in 'not an address'"),
    ({"To": "Name <x@example.com"}, "unbalanced"),
    ({"To": '"Doe <x@example.com>'}, "unbalanced"),
    ({"To": "bad@@example.com"}, "bad@@example.com"),
    ({"To": "ok@example.com", "Cc": "nope"}, "nope"),
    ({"To": ""}, "Zero recipients"),
    ({"To": ", ".join(f"r{i}@example.com" for i in range(51))}, "50"),
    ({"TextBody": ..., "HtmlBody": ...}, "TextBody"),
    ({"Attachments": [{"Name": "a.bin", "Content": "!!not base64!!",
                       "ContentType": "application/octet-stream"}]}, "base64"),
    ({"Headers": [{"Name": "X-Test", "Value": "x\r\nBcc: victim@example.com"}]}, "line breaks"),
    ({"Subject": "hi\r\nBcc: victim@example.com"}, "line breaks"),
    ({"Headers": [{"Name": "Bcc: victim@example.com\r\nX-A", "Value": "v"}]}, "header name"),
    ({"Headers": [{"Name": "Not Allowed", "Value": "v"}]}, "header name"),
    ({"Headers": [{"Name": "", "Value": "v"}]}, "header name"),
    ({"TrackLinks": "Sometimes"}, "TrackLinks"),
])
def test_validation_errors(server: InProcessServer, fields: dict[str, Any], fragment: str) -> None:
    api = server.api()
    r = api.post("/email", json=email(**fields))
    assert r.status_code == 422, r.text
    assert r.json()["ErrorCode"] == 300
    assert fragment in r.json()["Message"]
    assert message_count(api) == 0


def test_fifty_recipients_is_the_limit(server: InProcessServer) -> None:
    to = ", ".join(f"r{i}@example.com" for i in range(30))
    cc = ", ".join(f"c{i}@example.com" for i in range(20))
    r = server.api().post("/email", json=email(To=to, Cc=cc))
    assert r.status_code == 200, r.text
    r = server.api().post("/email", json=email(To=to, Cc=cc, Bcc="one-more@example.com"))
    assert r.status_code == 422 and r.json()["ErrorCode"] == 300


def test_stream_errors(server: InProcessServer) -> None:
    api = server.api()
    # Postmark's codes and wording for a send's MessageStream (its 12xx table).
    r = api.post("/email", json=email(MessageStream="nosuchstream"))
    assert r.status_code == 422
    assert r.json() == {"ErrorCode": 1235, "Message":
                        "The 'MessageStream' provided does not exist on this server."}
    r = api.post("/email", json=email(MessageStream="inbound"))
    assert r.status_code == 422
    assert r.json() == {"ErrorCode": 1236, "Message":
                        "Sending is not supported on the supplied 'MessageStream'."}
    r = api.post("/email", json=email(MessageStream="broadcast"))
    assert r.status_code == 200, r.text
    assert details(api, r.json()["MessageID"])["MessageStream"] == "broadcast"
    assert message_count(api) == 1


def test_everything_is_stored(server: InProcessServer) -> None:
    api = server.api()
    payload = base64.b64encode(b"%PDF-1.4 fake").decode()
    r = api.post("/email", json=email(
        To="To Person <to@example.com>", Cc="cc@example.com", Bcc="hidden@example.com",
        ReplyTo="replies@example.com", Tag="welcome", Subject="Welcome aboard",
        HtmlBody="<p>Hello</p>", Metadata={"user": "42", "plan": "pro"},
        Headers=[{"Name": "X-Custom", "Value": "custom-value"}],
        Attachments=[{"Name": "doc.pdf", "Content": payload, "ContentType": "application/pdf"}]))
    assert r.status_code == 200, r.text
    d = wait_sent(api, r.json()["MessageID"])
    assert d["Tag"] == "welcome" and d["Subject"] == "Welcome aboard"
    assert d["Metadata"] == {"user": "42", "plan": "pro"}
    assert d["To"] == [{"Email": "to@example.com", "Name": "To Person"}]
    assert d["Cc"] == [{"Email": "cc@example.com", "Name": ""}]
    assert d["Bcc"] == [{"Email": "hidden@example.com", "Name": ""}]
    assert sorted(d["Recipients"]) == ["cc@example.com", "hidden@example.com", "to@example.com"]
    assert d["Attachments"] == ["doc.pdf"]
    assert d["TextBody"] == "Hello" and d["HtmlBody"] == "<p>Hello</p>"
    raw = api.get(f"/messages/outbound/{r.json()['MessageID']}/dump").json()["Body"]
    assert "Reply-To: replies@example.com" in raw
    assert "X-Custom: custom-value" in raw
    assert 'filename="doc.pdf"' in raw and payload in raw
    assert "Subject: Welcome aboard" in raw
    assert "hidden@example.com" not in raw  # Bcc never appears in the message itself


def test_invalid_json_is_402(server: InProcessServer) -> None:
    r = server.api().post("/email", content=b'{"From": "a@b.com", ',
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["ErrorCode"] == 402


@pytest.fixture
def small_server(make_server: Callable[..., InProcessServer]) -> InProcessServer:
    return make_server(api_max_body_bytes=2048)


def test_body_over_the_limit_is_413(small_server: InProcessServer) -> None:
    api = small_server.api()
    big = email(TextBody="x" * 4096)
    r = api.post("/email", json=big)
    assert r.status_code == 413
    assert r.json()["ErrorCode"] == 413 and "2048" in r.json()["Message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed size counts
        yield b'{"From": "sender@example.com", "To": "to@example.com", "TextBody": "'
        for _ in range(8):
            yield b"y" * 512
        yield b'"}'

    r = api.post("/email", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert message_count(api) == 0
    r = api.post("/email", json=email())
    assert r.status_code == 200, r.text


def test_batch_results_in_order(server: InProcessServer) -> None:
    api = server.api()
    suppress(api, "inactive@example.com")
    r = api.post("/email/batch", json=[
        email(To="first@example.com"),
        email(To="inactive@example.com"),
        email(To="not-an-address"),
        email(To="last@example.com", Tag="batch"),
    ])
    assert r.status_code == 200, r.text
    results = r.json()
    assert len(results) == 4
    assert results[0]["ErrorCode"] == 0 and results[0]["To"] == "first@example.com"
    assert {k: results[1][k] for k in ("To", "MessageID", "ErrorCode", "Message")} == {
        "To": "inactive@example.com", "MessageID": "", "ErrorCode": 406,
        "Message": INACTIVE_WORDING.format("inactive@example.com")}
    assert (results[2]["To"], results[2]["MessageID"], results[2]["ErrorCode"]) == (
        "not-an-address", "", 300)
    assert results[3]["ErrorCode"] == 0 and results[3]["Message"] == "OK"
    assert results[0]["MessageID"] != results[3]["MessageID"]
    assert message_count(api) == 2
    assert details(api, results[3]["MessageID"])["Tag"] == "batch"
    for refused in results[1:3]:
        assert refused["SubmittedAt"].endswith("Z")
        assert results[0]["SubmittedAt"][:10] == refused["SubmittedAt"][:10]


def test_batch_refused_items_parse_as_the_sdks_send_responses(
        server: InProcessServer) -> None:
    """postmark-python's SendResponse requires To, SubmittedAt and MessageID on every item
    (postmark.js's MessageSendingResponse too): refused items carry them, To as given."""
    api = server.api()
    suppress(api, "inactive@example.com")
    r = api.post("/email/batch", json=[
        email(To="Inactive <inactive@example.com>"), email(To="not-an-address"),
        {"to": "lower@example.com", "Subject": "no From"}, {"To": 5}, "not an object",
        email(To="ok@example.com")])
    assert r.status_code == 200, r.text
    parsed = [SendResponse.model_validate(item) for item in r.json()]
    assert [(p.to, p.error_code, p.success) for p in parsed] == [
        ("Inactive <inactive@example.com>", 406, False), ("not-an-address", 300, False),
        ("lower@example.com", 300, False), ("", 300, False), ("", 300, False),
        ("ok@example.com", 0, True)]
    assert all(p.message_id == "" for p in parsed[:5]) and parsed[5].message_id
    assert message_count(api) == 1


def test_batch_limits_and_shape(server: InProcessServer) -> None:
    api = server.api()
    r = api.post("/email/batch", json=[email(To=f"r{i}@example.com") for i in range(501)])
    assert r.status_code == 422 and r.json()["ErrorCode"] == 410
    r = api.post("/email/batch", json=email())
    assert r.status_code == 422 and r.json()["ErrorCode"] == 403
    r = api.post("/email/batch", json=[])
    assert r.status_code == 200 and r.json() == []
    r = api.post("/email/batch", json=["not an object"])
    assert r.status_code == 200 and r.json()[0]["ErrorCode"] == 300
    assert (r.json()[0]["To"], r.json()[0]["MessageID"]) == ("", "")
    assert message_count(api) == 0


def test_track_links_is_read_as_smtp_reads_x_pm_tracklinks(server: InProcessServer) -> None:
    """One rule for both front doors (domain.limits): any case, stored and echoed as
    given; an unknown value is refused here (an SMTP header falls back to None instead)."""
    api = server.api()
    r = api.post("/email", json=email(TrackLinks="htmlonly", TrackOpens=True))
    assert r.status_code == 200, r.text
    sent = details(api, r.json()["MessageID"])
    # Echoed as given (DESIGN: enum values echoed as given, as Color is).
    assert sent["TrackLinks"] == "htmlonly" and sent["TrackOpens"] is True
    r = api.post("/email", json=email(TrackLinks=" HTMLandText "))
    assert details(api, r.json()["MessageID"])["TrackLinks"] == "HTMLandText"
    refused = api.post("/email", json=email(TrackLinks="Sometimes"))
    assert refused.status_code == 422 and refused.json() == {
        "ErrorCode": 300, "Message": "The value for 'TrackLinks' is not valid. Valid options "
        "are: null, 'None', 'HtmlAndText', 'HtmlOnly', 'TextOnly'"}
