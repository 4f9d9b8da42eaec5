"""Webhook targets are refused when saved (issue 12, item 5): a URL whose host spells a
loopback, link-local, private or unspecified address, in any spelling, is a 422 on the
Webhooks API and on the servers' legacy hook URLs, unless the operator allows private
targets (automatically so when the API listens on loopback, as in every other test).
Tenant headers cannot set Host, Content-Length, Transfer-Encoding, Connection and the like.
What DNS answers is checked when connecting: tests/e2e/test_webhook_ssrf.py."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.support.in_process import InProcessServer

FORBIDDEN = ["http://127.0.0.1:9/hook", "http://127.1/", "http://2130706433/",
             "http://0177.0.0.1/", "http://0x7f.1/", "http://localhost:8080/",
             "http://hooks.localhost/", "http://LOCALHOST./", "http://[::1]/",
             "http://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/meta-data/",
             "https://10.0.0.5/", "https://192.168.1.1/", "https://172.16.0.1/",
             "http://100.64.0.1/", "http://[fd00::1]/", "http://[fe80::1%25eth0]/",
             "http://0.0.0.0/", "http://0/", "http://%31%32%37.0.0.1/"]
RESERVED_HEADERS = ["Host", "Content-Length", "Transfer-Encoding", "Connection", "keep-alive",
                    "TE", "Upgrade"]


@pytest.fixture
def strict(make_server: Callable[..., InProcessServer]) -> InProcessServer:
    """A server whose operator does not allow private webhook targets."""
    return make_server(webhook_allow_private_targets=False)


def _refused(response: httpx.Response, code: int, *words: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == code, body
    message: str = body["Message"]
    assert all(word in message for word in words), message
    return message


@pytest.mark.parametrize("url", FORBIDDEN)
def test_private_webhook_urls_are_refused_on_create(strict: InProcessServer, url: str) -> None:
    api = strict.api()
    _refused(api.post("/webhooks", json={"Url": url}), 1400, "refused")
    assert api.get("/webhooks").json() == {"Webhooks": []}


def test_the_refusal_names_host_and_address(strict: InProcessServer) -> None:
    message = _refused(strict.api().post("/webhooks", json={"Url": "http://0x7f.1/h"}), 1400)
    assert message == ("Url: webhook host 0x7f.1 resolves to a loopback address (127.0.0.1); "
                       "refused (this server does not post webhooks to non-public addresses).")


def test_private_webhook_urls_are_refused_on_edit(strict: InProcessServer) -> None:
    api = strict.api()
    r = api.post("/webhooks", json={"Url": "https://hooks.example.com/pm"})
    assert r.status_code == 200, r.text
    hook = r.json()
    for url in ("http://169.254.169.254/", "http://[::ffff:10.0.0.1]/x"):
        _refused(api.put(f"/webhooks/{hook['ID']}", json={"Url": url}), 1400, "refused")
    assert api.get(f"/webhooks/{hook['ID']}").json()["Url"] == "https://hooks.example.com/pm"


def test_ambiguous_urls_are_refused(server: InProcessServer) -> None:
    api = server.api()
    for url in ("http://a@b@127.0.0.1/", "http://evil.example\\@127.0.0.1/",
                "http://exa mple.com/", "http:///nohost", "http://example.com:99999/"):
        _refused(api.post("/webhooks", json={"Url": url}), 1400)
    assert api.get("/webhooks").json() == {"Webhooks": []}


def test_public_targets_and_names_are_accepted(strict: InProcessServer) -> None:
    api = strict.api()
    for url in ("https://hooks.example.com/pm", "http://93.184.216.34/hook",
                "https://[2606:4700::1111]/x"):
        r = api.post("/webhooks", json={"Url": url})
        assert r.status_code == 200, r.text
        assert r.json()["Url"] == url


def test_loopback_api_allows_private_targets_by_default(server: InProcessServer) -> None:
    # The in-process API's settings say it listens on 127.0.0.1: local development.
    assert server.settings.webhook_allow_private_targets is None
    r = server.api().post("/webhooks", json={"Url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 200, r.text


def test_the_setting_allows_them_explicitly(make_server: Callable[..., InProcessServer]) -> None:
    running = make_server(api_host="0.0.0.0", webhook_allow_private_targets=True)
    r = running.api().post("/webhooks", json={"Url": "http://10.0.0.5/hook"})
    assert r.status_code == 200, r.text


def test_a_public_api_refuses_them_automatically(
        make_server: Callable[..., InProcessServer]) -> None:
    running = make_server(api_host="0.0.0.0")
    _refused(running.api().post("/webhooks", json={"Url": "http://127.0.0.1:9/"}), 1400,
             "refused")


@pytest.mark.parametrize("name", RESERVED_HEADERS)
def test_reserved_headers_are_refused(server: InProcessServer, name: str) -> None:
    api = server.api()
    body = {"Url": "https://hooks.example.com/", "HttpHeaders": [{"Name": name, "Value": "1"}]}
    _refused(api.post("/webhooks", json=body), 1400, name)
    hook = api.post("/webhooks", json={"Url": "https://hooks.example.com/"}).json()
    _refused(api.put(f"/webhooks/{hook['ID']}", json={"HttpHeaders": body["HttpHeaders"]}),
             1400, name)
    assert api.get(f"/webhooks/{hook['ID']}").json()["HttpHeaders"] == []


@pytest.mark.parametrize(("name", "value"), [("X-A", "v\r\nHost: evil"), ("X-A", "v\nX: y"),
                                             ("X-A\r\nHost", "v"), ("X-A\n", "v")])
def test_line_breaks_in_headers_are_refused(server: InProcessServer, name: str,
                                            value: str) -> None:
    body = {"Url": "https://hooks.example.com/", "HttpHeaders": [{"Name": name, "Value": value}]}
    _refused(server.api().post("/webhooks", json=body), 1400)


@pytest.mark.parametrize("field", ["BounceHookUrl", "InboundHookUrl", "OpenHookUrl",
                                   "DeliveryHookUrl", "ClickHookUrl"])
def test_server_hook_urls_are_refused(strict: InProcessServer, field: str) -> None:
    own, account = strict.api(), strict.api(account=True)
    url = "http://169.254.169.254/latest/meta-data/"
    _refused(own.put("/server", json={field: url}), 403, "refused")
    _refused(account.put(f"/servers/{strict.server_id}", json={field: "http://0x7f.1/"}), 403,
             "127.0.0.1")
    _refused(account.post("/servers", json={"Name": "Private hooks", field: "http://[::1]/"}),
             403, "refused")
    assert own.get("/server").json()[field] == ""
    assert account.get("/servers", params={"name": "Private hooks"}).json()["TotalCount"] == 0
    r = own.put("/server", json={field: "https://hooks.example.com/x"})
    assert r.status_code == 200 and r.json()[field] == "https://hooks.example.com/x", r.text
    r = own.put("/server", json={field: ""})  # clearing a hook URL is always allowed
    assert r.status_code == 200 and r.json()[field] == "", r.text
