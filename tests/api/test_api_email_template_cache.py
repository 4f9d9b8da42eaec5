"""POST /email/withTemplate sends from the app's TemplateCache (services.template_cache):
a template seen before is rendered without a read, an edit or delete through the API is
seen by the next send, and one made behind the cache's back (another process, here a
direct write) is caught in the transaction that would accept the message: the send is
rendered again from the new version, and answered 503 only when that keeps failing.
Both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from postlane.services import template_cache, template_sending
from postlane.services.template_cache import TemplateCache
from postlane.store import templates as store
from tests.support.api_servers import expect_error
from tests.support.in_process import InProcessServer


def _cache(server: InProcessServer) -> TemplateCache:
    cache: TemplateCache = server.api_app.state.template_cache
    return cache


def _make(api: httpx.Client) -> dict[str, Any]:
    layout = api.post("/templates", json={"Name": "Base", "Alias": "base",
                                          "TemplateType": "Layout",
                                          "HtmlBody": "<b>{{{ @content }}}</b>",
                                          "TextBody": "{{{ @content }}} -- base"})
    assert layout.status_code == 200, layout.text
    made = api.post("/templates", json={"Name": "Hi", "Alias": "hi", "LayoutTemplate": "base",
                                        "Subject": "Hi {{name}}", "HtmlBody": "<p>{{name}}</p>",
                                        "TextBody": "Hello {{name}}"})
    assert made.status_code == 200, made.text
    body: dict[str, Any] = made.json()
    return body


def _send(api: httpx.Client, **key: Any) -> httpx.Response:
    return api.post("/email/withTemplate", json={
        "From": "app@example.com", "To": "user@example.com", "TemplateModel": {"name": "Ann"},
        **(key or {"TemplateAlias": "hi"})})


def _details(api: httpx.Client, sent: httpx.Response) -> dict[str, Any]:
    assert sent.status_code == 200, sent.text
    body: dict[str, Any] = api.get(
        f"/messages/outbound/{sent.json()['MessageID']}/details").json()
    return body


def _edit_behind_the_cache(server: InProcessServer, template_id: int,
                           values: dict[str, Any]) -> None:
    with server.app.db.write() as conn:
        store.update(conn, template_id, values)


def test_a_template_seen_before_is_sent_without_a_read(server: InProcessServer,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    api = server.api()
    made = _make(api)
    assert _send(api).status_code == 200
    assert _send(api, TemplateId=made["TemplateId"]).status_code == 200
    assert _cache(server).cached(server.server_id, "HI") is not None  # aliases in any case

    def no_read(*_: Any) -> None:
        raise AssertionError("the template was read")

    monkeypatch.setattr(template_cache, "read", no_read)
    monkeypatch.setattr(template_sending, "sources", no_read)
    assert _details(api, _send(api, TemplateAlias="Hi"))["Subject"] == "Hi Ann"
    assert _details(api, _send(api, TemplateId=made["TemplateId"]))["Subject"] == "Hi Ann"


def test_an_edit_through_the_api_is_sent_at_once(server: InProcessServer) -> None:
    api = server.api()
    _make(api)
    assert _details(api, _send(api))["Subject"] == "Hi Ann"
    r = api.put("/templates/hi", json={"Subject": "Welcome {{name}}"})
    assert r.status_code == 200, r.text
    assert _details(api, _send(api))["Subject"] == "Welcome Ann"
    r = api.put("/templates/base", json={"TextBody": "{{{ @content }}} -- edited"})
    assert r.status_code == 200, r.text
    assert _details(api, _send(api))["TextBody"] == "Hello Ann -- edited"


def test_a_deleted_template_is_not_found(server: InProcessServer) -> None:
    api = server.api()
    made = _make(api)
    assert _send(api).status_code == 200
    assert _send(api, TemplateId=made["TemplateId"]).status_code == 200
    assert api.delete("/templates/hi").status_code == 200
    expect_error(_send(api), 1101)
    expect_error(_send(api, TemplateId=made["TemplateId"]), 1101)


def test_an_edit_behind_the_cache_is_caught_and_sent_anew(server: InProcessServer) -> None:
    api = server.api()
    made = _make(api)
    assert _send(api).status_code == 200
    _edit_behind_the_cache(server, made["TemplateId"], {"subject": "Changed {{name}}"})
    assert _cache(server).cached(server.server_id, "hi") is not None  # still the old one
    assert _details(api, _send(api))["Subject"] == "Changed Ann"
    layout = api.get("/templates/base").json()["TemplateId"]
    _edit_behind_the_cache(server, layout, {"text_body": "{{{ @content }}} -- new base"})
    assert _details(api, _send(api))["TextBody"] == "Hello Ann -- new base"


def test_a_delete_behind_the_cache_is_not_found(server: InProcessServer) -> None:
    api = server.api()
    made = _make(api)
    assert _send(api).status_code == 200
    with server.app.db.write() as conn:
        store.delete(conn, made["TemplateId"])
    expect_error(_send(api), 1101)


def test_a_template_that_keeps_changing_is_answered_503(server: InProcessServer,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    api = server.api()
    made = _make(api)
    assert _send(api).status_code == 200
    _edit_behind_the_cache(server, made["TemplateId"], {"subject": "Changed {{name}}"})
    monkeypatch.setattr(TemplateCache, "forget_server", lambda *_: None)  # never re-read
    before = api.get("/messages/outbound", params={"count": 500}).json()["TotalCount"]
    body = expect_error(_send(api), 1, status=503)
    assert "template changed" in body["Message"]
    after = api.get("/messages/outbound", params={"count": 500}).json()["TotalCount"]
    assert after == before  # nothing was stored
