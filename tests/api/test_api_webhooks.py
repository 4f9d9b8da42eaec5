"""Webhooks API: create, list, get, edit, delete, with Postmark's full webhook shape
(the Webhook model of the official postmark.js client, models/webhooks/Webhook.d.ts)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.in_process import InProcessServer

WEBHOOK_KEYS = {"ID", "Url", "MessageStream", "HttpAuth", "HttpHeaders", "Triggers"}
DEFAULT_TRIGGERS = {
    "Open": {"Enabled": False, "PostFirstOpenOnly": False},
    "Click": {"Enabled": False},
    "Delivery": {"Enabled": False},
    "Bounce": {"Enabled": False, "IncludeContent": False},
    "SpamComplaint": {"Enabled": False, "IncludeContent": False},
    "SubscriptionChange": {"Enabled": False},
}
ALL_ON = {
    "Open": {"Enabled": True, "PostFirstOpenOnly": True},
    "Click": {"Enabled": True},
    "Delivery": {"Enabled": True},
    "Bounce": {"Enabled": True, "IncludeContent": True},
    "SpamComplaint": {"Enabled": True, "IncludeContent": True},
    "SubscriptionChange": {"Enabled": True},
}


def _error(response: httpx.Response, code: int) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == code, body


def _create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = api.post("/webhooks", json=fields)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == WEBHOOK_KEYS
    assert set(body["Triggers"]) == set(DEFAULT_TRIGGERS)
    return body


def test_create_echoes_the_full_shape(server: InProcessServer) -> None:
    api = server.api()
    hook = _create(api, Url="https://hooks.example.com/pm", MessageStream="outbound",
                   HttpAuth={"Username": "user", "Password": "secret"},
                   HttpHeaders=[{"Name": "X-Token", "Value": "abc"},
                                {"Name": "X-Empty", "Value": ""}],
                   Triggers=ALL_ON)
    assert isinstance(hook["ID"], int)
    assert hook == {
        "ID": hook["ID"], "Url": "https://hooks.example.com/pm", "MessageStream": "outbound",
        "HttpAuth": {"Username": "user", "Password": "secret"},
        "HttpHeaders": [{"Name": "X-Token", "Value": "abc"}, {"Name": "X-Empty", "Value": ""}],
        "Triggers": ALL_ON,
    }
    assert api.get(f"/webhooks/{hook['ID']}").json() == hook

    # Lower-case keys are accepted; omitted triggers and fields take their defaults.
    partial = _create(api, url="http://127.0.0.1:9/x",
                      triggers={"bounce": {"enabled": True}, "open": {"Enabled": True}})
    assert partial["MessageStream"] == "outbound"
    assert partial["HttpAuth"] is None and partial["HttpHeaders"] == []
    assert partial["Triggers"] == {**DEFAULT_TRIGGERS,
                                   "Bounce": {"Enabled": True, "IncludeContent": False},
                                   "Open": {"Enabled": True, "PostFirstOpenOnly": False}}
    bare = _create(api, Url="https://hooks.example.com/bare", Triggers=None)
    assert bare["Triggers"] == DEFAULT_TRIGGERS
    assert len({hook["ID"], partial["ID"], bare["ID"]}) == 3


def test_list_with_stream_filter(server: InProcessServer) -> None:
    api = server.api()
    assert api.get("/webhooks").json() == {"Webhooks": []}
    first = _create(api, Url="https://a.example.com/", MessageStream="outbound")
    second = _create(api, Url="https://b.example.com/", MessageStream="Broadcast")
    assert second["MessageStream"] == "broadcast"

    listing = api.get("/webhooks").json()
    assert set(listing) == {"Webhooks"}
    assert listing["Webhooks"] == [first, second]
    assert api.get("/webhooks", params={"MessageStream": "broadcast"}).json() == {
        "Webhooks": [second]}
    assert api.get("/Webhooks/", params={"messagestream": "outbound"}).json() == {
        "Webhooks": [first]}
    assert api.get("/webhooks", params={"MessageStream": "inbound"}).json() == {"Webhooks": []}

    # Another server's webhooks are invisible.
    other = server.api(account=True).post("/servers", json={"Name": "Other"}).json()
    other_api = server.api(other["ApiTokens"][0])
    assert other_api.get("/webhooks").json() == {"Webhooks": []}
    _error(other_api.get(f"/webhooks/{first['ID']}"), 1402)


def test_edit_webhook(server: InProcessServer) -> None:
    api = server.api()
    hook = _create(api, Url="https://old.example.com/", MessageStream="outbound",
                   HttpAuth={"Username": "u", "Password": "p"},
                   Triggers={"Bounce": {"Enabled": True}})

    r = api.put(f"/webhooks/{hook['ID']}", json={
        "Url": "https://new.example.com/hook", "HttpHeaders": [{"Name": "X-New", "Value": "1"}],
        "Triggers": {"Delivery": {"Enabled": True},
                     "Bounce": {"Enabled": True, "IncludeContent": True}}})
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited == {
        "ID": hook["ID"], "Url": "https://new.example.com/hook", "MessageStream": "outbound",
        "HttpAuth": {"Username": "u", "Password": "p"},  # omitted: unchanged
        "HttpHeaders": [{"Name": "X-New", "Value": "1"}],
        "Triggers": {**DEFAULT_TRIGGERS, "Delivery": {"Enabled": True},
                     "Bounce": {"Enabled": True, "IncludeContent": True}},
    }
    assert api.get(f"/webhooks/{hook['ID']}").json() == edited

    # Naming the same stream is fine; a different one is refused and changes nothing.
    r = api.put(f"/webhooks/{hook['ID']}", json={"MessageStream": "outbound"})
    assert r.status_code == 200 and r.json() == edited
    _error(api.put(f"/webhooks/{hook['ID']}", json={"MessageStream": "broadcast"}), 1400)
    _error(api.put(f"/webhooks/{hook['ID']}", json={"Url": "ftp://nope.example.com/"}), 1400)
    assert api.get(f"/webhooks/{hook['ID']}").json() == edited
    r = api.put(f"/webhooks/{hook['ID']}")  # bodyless PUT
    assert r.status_code == 200 and r.json() == edited


def test_delete_webhook(server: InProcessServer) -> None:
    api = server.api()
    keep = _create(api, Url="https://keep.example.com/")
    gone = _create(api, Url="https://gone.example.com/")
    r = api.delete(f"/webhooks/{gone['ID']}")
    assert r.status_code == 200
    assert r.json() == {"ErrorCode": 0, "Message": f"Webhook {gone['ID']} removed."}
    _error(api.get(f"/webhooks/{gone['ID']}"), 1402)
    _error(api.delete(f"/webhooks/{gone['ID']}"), 1402)
    assert api.get("/webhooks").json() == {"Webhooks": [keep]}


def test_webhook_validation(server: InProcessServer) -> None:
    api = server.api()
    for url in ("not-a-url", "ftp://example.com/hook", "example.com/hook"):
        _error(api.post("/webhooks", json={"Url": url}), 1400)
    _error(api.post("/webhooks", json={"MessageStream": "outbound"}), 1400)  # no Url
    _error(api.post("/webhooks"), 1400)
    _error(api.post("/webhooks", json={"Url": "https://x.example.com/",
                                       "MessageStream": "nosuchstream"}), 1226)
    _error(api.post("/webhooks", json={
        "Url": "https://x.example.com/",
        "HttpHeaders": [{"Name": "X-Evil", "Value": "a\r\nInjected: yes"}]}), 1400)
    _error(api.post("/webhooks", json={
        "Url": "https://x.example.com/", "Triggers": {"Bounce": {"Enabled": "maybe"}}}), 1400)
    assert api.get("/webhooks").json() == {"Webhooks": []}

    for method in ("GET", "PUT", "DELETE"):
        _error(api.request(method, "/webhooks/987654"), 1402)
    for bad_id in ("abc", "0", str(2**63)):
        r = api.get(f"/webhooks/{bad_id}")
        assert r.status_code == 422 and r.json() == {
            "ErrorCode": 1402, "Message": f"Webhook {bad_id} was not found."}
