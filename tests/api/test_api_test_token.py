"""POSTMARK_API_TEST, Postmark's published test token: the send endpoints validate the
request as usual and answer "Test job accepted" without storing or sending anything;
template sends find no template (422, 1101); every other endpoint refuses it (401, 10).
Through postmark-python against a real server: tests/e2e/test_sandbox_webhooks.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.in_process import InProcessServer

TEST_TOKEN = "POSTMARK_API_TEST"


def email(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"From": "sender@example.com", "To": "to@example.com",
                            "Subject": "Hi", "TextBody": "Hello"}
    body.update(fields)
    return body


def stored(server: InProcessServer) -> int:
    total: int = server.api().get("/messages/outbound",
                                  params={"count": 100, "offset": 0}).json()["TotalCount"]
    return total


def assert_test_answer(item: dict[str, Any], to: str) -> None:
    assert set(item) == {"To", "SubmittedAt", "MessageID", "ErrorCode", "Message"}
    assert (item["ErrorCode"], item["Message"], item["To"]) == (0, "Test job accepted", to)
    uuid.UUID(item["MessageID"])
    submitted = datetime.strptime(item["SubmittedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC)
    assert abs(datetime.now(UTC) - submitted) < timedelta(minutes=1)


def as_test(server: InProcessServer) -> httpx.Client:
    return server.api(token=TEST_TOKEN)


def test_email_is_answered_and_nothing_is_stored(server: InProcessServer) -> None:
    r = as_test(server).post("/email", json=email(To="Someone <to@example.com>, b@example.org"))
    assert r.status_code == 200, r.text
    assert_test_answer(r.json(), "Someone <to@example.com>, b@example.org")
    again = as_test(server).post("/email", json=email())
    assert again.json()["MessageID"] != r.json()["MessageID"]
    assert stored(server) == 0
    assert server.api().get("/bounces", params={"count": 10}).json()["TotalCount"] == 0


def test_email_validation_errors_answer_as_usual(server: InProcessServer) -> None:
    r = as_test(server).post("/email", json=email(From=""))
    assert r.status_code == 422, r.text
    assert r.json()["ErrorCode"] == 300
    r = as_test(server).post("/email", json=email(To="not an address"))
    assert r.status_code == 422 and r.json()["ErrorCode"] == 300
    r = as_test(server).post("/email", content=b"{not json", headers={
        "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["ErrorCode"] != 0
    assert stored(server) == 0


def test_batch_answers_each_message(server: InProcessServer) -> None:
    r = as_test(server).post("/email/batch", json=[
        email(To="a@example.com"), email(From=""), email(To="c@example.com")])
    assert r.status_code == 200, r.text
    first, refused, third = r.json()
    assert_test_answer(first, "a@example.com")
    assert_test_answer(third, "c@example.com")
    assert refused["ErrorCode"] == 300 and refused["MessageID"] == ""
    assert stored(server) == 0
    too_many = as_test(server).post("/email/batch", json=[email()] * 501)
    assert too_many.status_code == 422 and too_many.json()["ErrorCode"] != 0


def test_template_sends_find_no_template(server: InProcessServer) -> None:
    # A real template of the server is not the test token's: it has none.
    made = server.api().post("/templates", json={
        "Name": "Welcome", "Alias": "welcome", "Subject": "Hi {{name}}",
        "TextBody": "Hello {{name}}"})
    assert made.status_code == 200, made.text
    send = {"TemplateAlias": "welcome", "TemplateModel": {"name": "x"},
            "From": "sender@example.com", "To": "to@example.com"}
    r = as_test(server).post("/email/withTemplate", json=send)
    assert r.status_code == 422, r.text
    assert r.json()["ErrorCode"] == 1101
    missing_model = as_test(server).post("/email/withTemplate", json={
        k: v for k, v in send.items() if k != "TemplateModel"})
    assert missing_model.status_code == 422 and missing_model.json()["ErrorCode"] == 300
    batch = as_test(server).post("/email/batchWithTemplates", json={"Messages": [send, send]})
    assert batch.status_code == 200, batch.text
    assert [(i["ErrorCode"], i["To"]) for i in batch.json()] == [(1101, "to@example.com")] * 2
    assert stored(server) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/bounces"), ("GET", "/server"), ("GET", "/messages/outbound"),
    ("GET", "/webhooks"), ("GET", "/templates"), ("GET", "/deliverystats"),
    ("GET", "/message-streams/outbound/suppressions/dump")])
def test_other_endpoints_refuse_it(server: InProcessServer, method: str, path: str) -> None:
    r = as_test(server).request(method, path)
    assert r.status_code == 401, r.text
    assert r.json()["ErrorCode"] == 10


def test_it_is_no_account_token(server: InProcessServer) -> None:
    r = server.client({"X-Postmark-Account-Token": TEST_TOKEN}).get("/servers")
    assert r.status_code == 401 and r.json()["ErrorCode"] == 10


def test_real_tokens_still_send(server: InProcessServer) -> None:
    r = server.api().post("/email", json=email())
    assert r.status_code == 200 and r.json()["Message"] == "OK"
    assert stored(server) == 1
