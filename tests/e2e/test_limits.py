"""Oversized and hostile input not covered elsewhere: a 60 MB chunked body, a huge SMTP
command line, 1000 suppressions at once, fields longer than their columns, NUL, and header
injection through every user-controlled field that reaches a header."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import select
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.harness import (
    RunningServer,
    WebhookReceiver,
    make_message,
    smtp_send,
    start_server,
    wait_until,
)
from tests.support.harness import test_settings as settings_for
from tests.support.smtp_support import send_raw

MB = 1024 * 1024


def rss_kib(field: str = "VmRSS") -> int:
    """This process's memory (the server runs in-process, in a thread)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS


def email_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"From": "sender@example.com", "To": "to@example.com",
                            "Subject": "Hi", "TextBody": "Hello"}
    body.update(fields)
    return body


@pytest.fixture
def small_body_server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(settings_for(database_url, tmp_path / "data",
                                         api_max_body_bytes=1 * MB))
    yield running
    running.stop()


def chunked_upload(server: RunningServer, path: str, total: int) -> tuple[int, bytes, int]:
    """Stream ``total`` bytes as a chunked body with no Content-Length, stopping as soon as
    the server answers. Returns the status, the response and how many bytes were sent."""
    host, port = httpx.URL(server.api_url).host, httpx.URL(server.api_url).port
    assert port is not None
    sock = socket.create_connection((host, port), timeout=30)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Postmark-Server-Token: "
                 f"{server.server_token}\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"[" + b" " * (64 * 1024 - 1)
    sent = 0
    try:
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            chunk = b" " * len(chunk)
        if sent >= total:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending
    response = b""
    while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
        data = sock.recv(65536)
        if not data:
            break
        response += data
    sock.close()
    status = int(response.split(b" ", 2)[1])
    return status, response.partition(b"\r\n\r\n")[2], sent


def test_60mb_chunked_batch_is_refused_without_buffering(
        small_body_server: RunningServer) -> None:
    chunked_upload(small_body_server, "/email/batch", 2 * MB)  # warm up allocator and paths
    before = rss_kib()
    reset_peak_rss()
    status, body, sent = chunked_upload(small_body_server, "/email/batch", 60 * MB)
    growth_mb = (rss_kib("VmHWM") - before) / 1024
    assert status == 413, body
    assert b'"ErrorCode":413' in body.replace(b" ", b"")
    assert sent < 60 * MB, "the server read the whole body before refusing it"
    assert growth_mb < 8, f"peak memory grew by {growth_mb:.1f} MB for a 1 MB limit"
    with small_body_server.api() as api:
        assert api.get("/messages/outbound").json()["TotalCount"] == 0
        assert api.post("/email/batch", json=[email_body()]).status_code == 200


def smtp_line(sock: socket.socket, *parts: bytes) -> bytes:
    """Send one line (in parts, so a huge line is never built here) and read its reply."""
    for part in parts:
        sock.sendall(part)
    sock.sendall(b"\r\n")
    line = parts[0]
    reply = b""
    while not re.search(rb"(^|\r\n)\d{3} [^\r\n]*\r\n$", reply):
        data = sock.recv(65536)
        assert data, f"connection closed after {line[:40]!r}"
        reply += data
    return reply


def test_overlong_smtp_command_line_after_auth(server: RunningServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.smtp_port), timeout=30)
    try:
        assert sock.recv(1024).startswith(b"220")
        smtp_line(sock, b"EHLO client.example.com")
        token = base64.b64encode(f"\0{server.server_token}\0{server.server_token}".encode())
        assert smtp_line(sock, b"AUTH PLAIN " + token).startswith(b"235")
        before = rss_kib()
        reset_peak_rss()
        reply = smtp_line(sock, b"MAIL FROM:<", *[b"a" * (64 * 1024)] * 128, b"@example.com>")
        growth_mb = (rss_kib("VmHWM") - before) / 1024
        assert reply == b"500 5.5.2 Command line too long\r\n"
        assert growth_mb < 8, f"peak memory grew by {growth_mb:.1f} MB for one command line"
        # One reply for the whole line, and the session goes on.
        assert smtp_line(sock, b"MAIL FROM:<sender@example.com>").startswith(b"250")
        assert smtp_line(sock, b"RCPT TO:<to@example.com>").startswith(b"250")
        assert smtp_line(sock, b"DATA").startswith(b"354")
        reply = smtp_line(sock, b"Subject: after a long line\r\n\r\nbody\r\n.")
        assert reply.startswith(b"250"), reply
    finally:
        sock.close()


@pytest.mark.parametrize("action", ["suppressions", "suppressions/delete"])
def test_thousand_suppressions_in_one_request(server: RunningServer, action: str) -> None:
    api = server.api()
    many = [{"EmailAddress": f"user{i}@example.com"} for i in range(1000)]
    r = api.post(f"/message-streams/outbound/{action}", json={"Suppressions": many})
    assert r.status_code == 422
    assert r.json()["ErrorCode"] != 0 and "50" in r.json()["Message"]
    assert api.get("/message-streams/outbound/suppressions/dump").json() == {"Suppressions": []}


INJECTIONS = ["\r\nX-Injected: 1", "\nX-Injected: 1", "\rX-Injected: 1", "\u2028X-Injected: 1",
              "\x85X-Injected: 1", "\x0bX-Injected: 1", "\x0cX-Injected: 1",
              "\x1cX-Injected: 1"]
#: A line break hidden in an RFC 2047 word (refused), then plain text that merely looks
#: like a header (accepted, and must stay inside its field).
DISGUISED = ["=?utf-8?q?=0D=0AX-Injected:_1?=", " X-Injected: 1", "\u00fc\u00a0X-Injected: 1"]
PDF = base64.b64encode(b"%PDF-1.4 fake").decode()


def _attachment(**fields: str) -> dict[str, Any]:
    return {"Attachments": [{"Name": "a.pdf", "Content": PDF, "ContentType": "application/pdf",
                             **fields}]}


#: Every user-controlled /email field that ends up in (or near) a header of the message.
PLACEMENTS: dict[str, Any] = {
    "Subject": lambda p: {"Subject": f"Hello{p}"},
    "From name": lambda p: {"From": f'"Sender{p}" <sender@example.com>'},
    "From bare name": lambda p: {"From": f"Sender{p} <sender@example.com>"},
    "To name": lambda p: {"To": f'"Rcpt{p}" <to@example.com>'},
    "ReplyTo": lambda p: {"ReplyTo": f"replies@example.com{p}"},
    "ReplyTo name": lambda p: {"ReplyTo": f'"Replies{p}" <replies@example.com>'},
    "Tag": lambda p: {"Tag": f"tag{p}"},
    "Metadata value": lambda p: {"Metadata": {"key": f"value{p}"}},
    "Header value": lambda p: {"Headers": [{"Name": "X-Custom", "Value": f"v{p}"}]},
    "Attachment name": lambda p: _attachment(Name=f"a{p}.pdf"),
    "Attachment type": lambda p: _attachment(ContentType=f"application/pdf{p}"),
    "Attachment ContentID": lambda p: _attachment(ContentID=f"cid{p}@example.com"),
}
ALLOWED_HEADERS = {"from", "to", "cc", "reply-to", "subject", "date", "message-id",
                   "mime-version", "content-type", "content-transfer-encoding",
                   "content-disposition", "content-id", "x-custom"}


def header_names(raw: str) -> set[str]:
    msg = email.message_from_string(raw, policy=email.policy.default)
    return {name.lower() for part in msg.walk() for name in part}


@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_header_injection_is_refused_or_encoded(server: RunningServer, placement: str) -> None:
    api = server.api()
    accepted = []
    for payload in INJECTIONS + DISGUISED:
        r = api.post("/email", json=email_body(**PLACEMENTS[placement](payload)))
        assert r.status_code in (200, 422), (payload, r.status_code, r.text)
        if r.status_code == 422:
            assert r.json()["ErrorCode"] == 300, r.text
            assert payload not in DISGUISED[1:], f"{placement}: {payload!r} refused: {r.text}"
            continue
        accepted.append(payload)
        raw = api.get(f"/messages/outbound/{r.json()['MessageID']}/dump").json()["Body"]
        assert not re.search(r"(?im)^x-injected:", raw), (placement, payload, raw)
        assert header_names(raw) <= ALLOWED_HEADERS, (placement, payload, raw)
    assert DISGUISED[1:] == accepted[-2:]  # plain text that only looks like a header gets in


@pytest.mark.parametrize("payload", [*INJECTIONS, "X-Ok\0"])
def test_webhook_http_header_injection_is_refused(server: RunningServer, payload: str) -> None:
    api = server.api()
    for header in ({"Name": "X-Trace", "Value": f"v{payload}"},
                   {"Name": f"X-Trace{payload}", "Value": "v"}):
        r = api.post("/webhooks", json={"Url": "http://127.0.0.1:9/hook",
                                        "HttpHeaders": [header]})
        assert r.status_code == 422 and r.json()["ErrorCode"] == 1400, (header, r.text)
    for name in ("X-Trace: a", "X Trace", "X-Tr@ce(", ""):  # not an HTTP field name
        r = api.post("/webhooks", json={"Url": "http://127.0.0.1:9/hook",
                                        "HttpHeaders": [{"Name": name, "Value": "v"}]})
        assert r.status_code == 422 and r.json()["ErrorCode"] == 1400, (name, r.text)
    assert api.get("/webhooks").json() == {"Webhooks": []}


def test_webhook_headers_arrive_as_given(server: RunningServer,
                                         receiver: WebhookReceiver) -> None:
    """A value that merely looks like a header stays inside its own header."""
    api = server.api()
    r = api.post("/webhooks", json={
        "Url": receiver.url, "Triggers": {"Bounce": {"Enabled": True}},
        "HttpHeaders": [{"Name": "X-Trace", "Value": "v X-Injected: 1; a=b"}]})
    assert r.status_code == 200, r.text
    assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
    api.post("/message-streams/outbound/suppressions",
             json={"Suppressions": [{"EmailAddress": "gone@example.com"}]})
    code, _ = smtp_send(server, make_message("gone@example.com"), ["gone@example.com"])
    assert code == 250
    wait_until(lambda: receiver.requests, timeout=15, message="the bounce webhook")
    headers = {k.lower(): v for k, v in receiver.requests[0].headers.items()}
    assert headers["x-trace"] == "v X-Injected: 1; a=b"
    assert "x-injected" not in headers


#: Text fields and the most characters their columns hold (PostgreSQL enforces it).
TOO_LONG: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/email", email_body(Subject="s" * 2001)),
    ("POST", "/email", email_body(Tag="t" * 1001)),
    ("POST", "/email", email_body(ReplyTo=f"{'r' * 1000}@example.com")),
    ("POST", "/email", email_body(From=f'"{"n" * 1000}" <sender@example.com>')),
    ("PUT", "/server", {"Name": "n" * 201}),
    ("PUT", "/server", {"InboundDomain": "d" * 256}),
    ("PUT", "/server", {"BounceHookUrl": "https://example.com/" + "p" * 2000}),
    ("PUT", "/server", {"InboundSpamThreshold": 2**40}),
    ("POST", "/message-streams", {"ID": "long", "Name": "n" * 101,
                                  "MessageStreamType": "Transactional"}),
    ("POST", "/message-streams", {"ID": "long", "Name": "ok", "Description": "d" * 1001,
                                  "MessageStreamType": "Transactional"}),
    ("POST", "/message-streams", {"ID": "long", "Name": "ok", "MessageStreamType": "Broadcasts",
                                  "SubscriptionManagementConfiguration": {
                                      "UnsubscribeHandlingType": "x" * 30}}),
    ("POST", "/webhooks", {"Url": "https://example.com/" + "p" * 2000}),
]


@pytest.mark.parametrize(("method", "path", "body"), TOO_LONG,
                         ids=[f"{m} {p} {next(iter(b))}" for m, p, b in TOO_LONG])
def test_fields_longer_than_their_columns_are_422(server: RunningServer, method: str, path: str,
                                                  body: dict[str, Any]) -> None:
    if path == "/email":
        body = {k: v for k, v in body.items() if k in ("From", "To", "TextBody")} | {
            k: v for k, v in body.items() if len(str(v)) > 900}
    r = server.api().request(method, path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["ErrorCode"] != 0 and r.json()["Message"]


#: NUL reaches PostgreSQL from bodies, query strings and paths alike.
NUL_REQUESTS: list[tuple[str, str, Any]] = [
    ("POST", "/email", email_body(TextBody="a\0b")),
    ("POST", "/email", email_body(Metadata={"k": "a\0b"})),
    ("POST", "/email/batch", [email_body(HtmlBody="a\0b")]),
    ("POST", "/message-streams/outbound/suppressions",
     {"Suppressions": [{"EmailAddress": "a\0b@example.com"}]}),
    ("PUT", "/server", {"Name": "a\0b"}),
    ("POST", "/message-streams", {"ID": "nul", "Name": "a\0b",
                                  "MessageStreamType": "Transactional"}),
    ("POST", "/webhooks", {"Url": "https://example.com/\0"}),
    ("GET", "/webhooks?MessageStream=a%00b", None),
    ("GET", "/messages/outbound?tag=a%00b", None),
    ("GET", "/bounces?emailFilter=a%00b", None),
    ("GET", "/message-streams/out%00bound", None),
    ("GET", "/messages/outbound/abc%00def/details", None),
    ("GET", "/message-streams/outbound/suppressions/dump?EmailAddress=a%00b", None),
]


@pytest.mark.parametrize(("method", "path", "body"), NUL_REQUESTS,
                         ids=[f"{m} {p.split('?')[0]}" for m, p, _ in NUL_REQUESTS])
def test_nul_is_refused_not_a_server_error(server: RunningServer, method: str, path: str,
                                           body: Any) -> None:
    r = server.api().request(method, path, json=body)
    if path == "/email/batch":
        assert r.status_code == 200 and r.json()[0]["ErrorCode"] == 300, r.text
    elif path.endswith("/suppressions"):  # Postmark fails the entry, not the request
        assert r.status_code == 200 and r.json()["Suppressions"][0]["Status"] == "Failed"
    else:
        assert r.status_code == 422, r.text
        assert r.json()["ErrorCode"] != 0 and r.json()["Message"]


def test_smtp_fields_past_the_columns_and_nul(server: RunningServer) -> None:
    folded = b"\r\n ".join([b"s" * 500] * 5)  # 2500 characters once unfolded
    code, reply = send_raw(server, b"From: a@example.com\r\nSubject: " + folded + b"\r\n\r\nx\r\n")
    assert code == 554 and "Subject is longer than 2000 characters" in reply
    code, reply = send_raw(server, b"From: a@example.com\r\nSubject: a\0b\r\nX-PM-Tag: t\0\r\n"
                           b"X-PM-TrackLinks: " + b"z" * 50 + b"\r\n\r\nbody\0text\r\n")
    assert code == 250, reply
    with server.api() as api:
        message = api.get(f"/messages/outbound/{reply.rsplit(' ', 1)[-1]}/details").json()
    assert message["Subject"] == "a\ufffdb" and message["Tag"] == "t\ufffd"
    assert message["TextBody"].startswith("body\ufffdtext")
    assert message["TrackLinks"] == "None"
