"""POST /email and /email/withTemplate take api.fast's short way past FastAPI's routing:
still with Postmark's case-insensitive, trailing-slash-tolerant paths, the same token
answers and error bodies, and other methods answered by FastAPI as before. Both DBs."""

from __future__ import annotations

from tests.support.api_servers import expect_error
from tests.support.in_process import InProcessServer

MESSAGE = {"From": "app@example.com", "To": "user@example.com", "Subject": "Hi",
           "TextBody": "Hello"}


def test_any_case_and_a_trailing_slash(server: InProcessServer) -> None:
    api = server.api()
    for path in ("/email", "/Email/", "/EMAIL"):
        r = api.post(path, json=MESSAGE)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.json()["ErrorCode"] == 0 and r.json()["To"] == "user@example.com"
    r = api.post("/email/WithTemplate/", json={**MESSAGE, "TemplateAlias": "none",
                                                "TemplateModel": {}})
    expect_error(r, 1101)


def test_token_and_body_errors_as_before(server: InProcessServer) -> None:
    expect_error(server.client().post("/email", json=MESSAGE), 10, status=401)
    expect_error(server.api(token="wrong").post("/email/withTemplate", json=MESSAGE), 10,
                 status=401)
    api = server.api()
    expect_error(api.post("/email", content=b"{not json"), 402)
    expect_error(api.post("/email", json={**MESSAGE, "From": ""}), 300)
    expect_error(api.post("/email/withTemplate", json=MESSAGE), 300)  # no TemplateModel


def test_other_methods_are_fastapis(server: InProcessServer) -> None:
    r = server.api().get("/email")
    assert r.status_code == 405, r.text
    assert set(r.json()) == {"ErrorCode", "Message"}
