"""Webhook targets are vetted when connecting, after DNS (issue 12, item 5): a URL saved with
a public-looking name that a real (local) DNS server answers with 127.0.0.1 gets no
connection when the operator does not allow private targets, and the delivery log says
why. When private targets are allowed, the POST goes to the address that was vetted (the
name resolves only through that DNS server), with the URL's Host and, over TLS, its SNI
and certificate name. Save-time refusals: tests/api/test_api_webhook_targets.py."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from postlane.domain.records import WebhookDelivery
from postlane.domain.types import DeliveryState
from postlane.outbound.targets import GuardedTransport, TargetPolicy
from postlane.outbound.webhooks import ClientPool, PostResult, post
from postlane.smtp.tls import ensure_self_signed, server_context
from tests.support.dns_server import ZoneServer
from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    start_server,
    test_settings,
    wait_until,
)

NAME = "hooks.public-looking.com"
ZONE = {
    NAME: {"A": ["127.0.0.1"]},
    "mixed.public-looking.com": {"A": ["93.184.216.34", "127.0.0.1"]},
    "v6.public-looking.com": {"AAAA": ["::ffff:127.0.0.1"]},
    "tls.public-looking.com": {"A": ["127.0.0.1"]},
}
RCPT = "suppressed@example.com"


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    running = ZoneServer(ZONE).start()
    yield running
    running.stop()


def _port(receiver: WebhookReceiver) -> int:
    return httpx.URL(receiver.url).port or 80


def _server(make_server: Callable[..., RunningServer], zone: ZoneServer,
            allow: bool) -> RunningServer:
    return make_server(webhook_allow_private_targets=allow, dns_nameservers=("127.0.0.1",),
                       dns_port=zone.port)


def _bounce_to_hook(server: RunningServer, url: str) -> httpx.Client:
    """A webhook on ``url`` and an SMTP API Error bounce that it is told about."""
    api = server.api()
    assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": RCPT}]})
    assert r.status_code == 200, r.text
    r = api.post("/webhooks", json={"Url": url, "Triggers": {"Bounce": {"Enabled": True}}})
    assert r.status_code == 200, r.text  # a name: save time cannot know where it leads
    code, _ = smtp_send(server, make_message(RCPT), [RCPT])
    assert code == 250
    return api


def _last_error(api: httpx.Client) -> str:
    def failed() -> str | None:
        rows = api.get("/webhook-deliveries").json()["Deliveries"]
        return rows[0]["LastError"] if rows and rows[0]["LastError"] else None
    error: str = wait_until(failed, message="a failed attempt in the delivery log")
    return error


@pytest.mark.parametrize(("host", "address"), [(NAME, "127.0.0.1"),
                                               ("mixed.public-looking.com", "127.0.0.1"),
                                               ("v6.public-looking.com", "::ffff:127.0.0.1")])
def test_a_name_resolving_to_loopback_gets_no_connection(
        make_server: Callable[..., RunningServer], zone: ZoneServer,
        receiver: WebhookReceiver, host: str, address: str) -> None:
    server = _server(make_server, zone, allow=False)
    api = _bounce_to_hook(server, f"http://{host}:{_port(receiver)}/hook")
    error = _last_error(api)
    assert error == (f"ConnectError: webhook host {host} resolves to a loopback address "
                     f"({address}); refused")
    assert receiver.requests == []


def test_a_spelled_loopback_saved_earlier_gets_no_connection(
        database_url: str, tmp_path: Path, zone: ZoneServer,
        receiver: WebhookReceiver) -> None:
    # A legacy hook URL stored while private targets were allowed; the operator has
    # since turned them off: connect time still refuses it (here in inet_aton's hex).
    def start(allow: bool) -> RunningServer:
        return start_server(test_settings(
            database_url, tmp_path / "data", webhook_allow_private_targets=allow,
            dns_nameservers=("127.0.0.1",), dns_port=zone.port))

    earlier = start(True)
    try:
        assert earlier.api().put("/server", json={
            "BounceHookUrl": f"http://0x7f.1:{_port(receiver)}/legacy"}).status_code == 200
    finally:
        earlier.stop()
    server = start(False)
    try:
        api = server.api()
        assert api.get("/server").json()["BounceHookUrl"].startswith("http://0x7f.1:")
        assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
        api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": RCPT}]})
        assert smtp_send(server, make_message(RCPT), [RCPT])[0] == 250
        assert _last_error(api) == ("ConnectError: webhook host 0x7f.1 resolves to a "
                                    "loopback address (127.0.0.1); refused")
        assert receiver.requests == []
    finally:
        server.stop()


def test_allowed_private_targets_get_the_vetted_address(
        make_server: Callable[..., RunningServer], zone: ZoneServer,
        receiver: WebhookReceiver) -> None:
    server = _server(make_server, zone, allow=True)
    port = _port(receiver)
    _bounce_to_hook(server, f"http://{NAME}:{port}/hook")
    request = wait_until(lambda: list(receiver.requests), message="the webhook")[0]
    assert request.headers["Host"] == f"{NAME}:{port}"
    assert request.body["Email"] == RCPT


class _TlsReceiver:
    """An HTTPS server on loopback with a certificate for ``name``: it records the SNI,
    the Host header and how many TCP connections it accepted."""

    def __init__(self, directory: Path, name: str) -> None:
        cert, key = ensure_self_signed(directory, name)
        self.client_context = ssl.create_default_context(cafile=str(cert))
        context = server_context(cert, key)
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        self.connections = 0
        context.sni_callback = lambda _sock, server_name, _ctx: self.sni.append(server_name)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hosts.append(self.headers["Host"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def get_request(self) -> tuple[Any, Any]:
                sock, addr = self.socket.accept()
                receiver.connections += 1
                return context.wrap_socket(sock, server_side=True), addr

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


async def _post(policy: TargetPolicy, verify: ssl.SSLContext, url: str) -> httpx.Response:
    transport = GuardedTransport(policy, verify, httpx.Limits(max_connections=2))
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:
        return await client.post(url, json={"RecordType": "Bounce"})


def test_tls_keeps_the_urls_name(tmp_path: Path, zone: ZoneServer) -> None:
    name = "tls.public-looking.com"
    tls = _TlsReceiver(tmp_path, name)
    try:
        url = f"https://{name}:{tls.port}/hook"
        allowed = TargetPolicy(allow_private=True, nameservers=("127.0.0.1",),
                               dns_port=zone.port)
        response = asyncio.run(_post(allowed, tls.client_context, url))
        assert response.status_code == 200
        # The certificate is for the name: verification passed on it, not on 127.0.0.1.
        assert tls.sni == [name] and tls.hosts == [f"{name}:{tls.port}"]

        refused = TargetPolicy(allow_private=False, nameservers=("127.0.0.1",),
                               dns_port=zone.port)
        with pytest.raises(httpx.ConnectError, match=r"resolves to a loopback address"):
            asyncio.run(_post(refused, tls.client_context, url))
        assert tls.connections == 1  # refused before connecting, not after
    finally:
        tls.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "0x7f000001", "127.1",
                                  "[::ffff:127.0.0.1]", "localhost", "api.localhost",
                                  "[::1]"])
def test_spellings_are_refused_when_connecting(host: str) -> None:
    listener = WebhookReceiver().start()
    try:
        port = _port(listener)
        with pytest.raises(httpx.ConnectError, match=r"; refused$"):
            asyncio.run(_post(TargetPolicy(), ssl.create_default_context(),
                              f"http://{host}:{port}/hook"))
        assert listener.requests == []
    finally:
        listener.stop()


def test_unknown_names_fail_cleanly(zone: ZoneServer) -> None:
    policy = TargetPolicy(nameservers=("127.0.0.1",), dns_port=zone.port)
    with pytest.raises(httpx.ConnectError, match=r"webhook host nowhere\.test has no address"):
        asyncio.run(_post(policy, ssl.create_default_context(), "http://nowhere.test/hook"))


def _delivery(url: str, headers: list[dict[str, str]]) -> WebhookDelivery:
    return WebhookDelivery(
        id=1, server_id=1, webhook_id=1, url=url, record_type="Bounce",
        payload={"RecordType": "Bounce"}, http_auth={"Username": "u", "Password": "p"},
        http_headers=headers, state=DeliveryState.PENDING, attempts=0, last_status=None,
        last_error=None, created_at=datetime.now(UTC), delivered_at=None)


async def _post_stored(delivery: WebhookDelivery) -> PostResult:
    pool = ClientPool(clients=1, targets=TargetPolicy(allow_private=True))
    try:
        return await post(pool.pick(), delivery, timeout=5)
    finally:
        await pool.aclose()


def test_stored_headers_cannot_reframe_the_post(receiver: WebhookReceiver) -> None:
    # Stored before the API refused them (or written around it): the POST still goes out
    # framed and addressed by Postlane, with the tenant's ordinary headers.
    stored = [{"Name": "Host", "Value": "evil.example"},
              {"Name": "Content-Length", "Value": "0"},
              {"Name": "Transfer-Encoding", "Value": "chunked"},
              {"Name": "Connection", "Value": "close"},
              {"Name": "X-Injected", "Value": "a\r\nX-Smuggled: yes"},
              {"Name": "X-Bad\r\nX-Smuggled", "Value": "yes"},
              {"Name": "X-Token", "Value": "abc"},
              {"Name": "authorization", "Value": "Bearer tenant"}]
    result = asyncio.run(_post_stored(_delivery(receiver.url, stored)))
    assert result.delivered, result
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["host"] == f"127.0.0.1:{_port(receiver)}"
    assert request.body == {"RecordType": "Bounce"}  # framed by its real Content-Length
    assert "transfer-encoding" not in headers and "x-smuggled" not in headers
    assert "x-injected" not in headers and headers["x-token"] == "abc"
    assert headers["connection"] != "close"
    # HttpAuth wins over a header of the same name in another case, sent once.
    assert [k for k in request.headers if k.lower() == "authorization"] == ["Authorization"]
    assert headers["authorization"].startswith("Basic ")
