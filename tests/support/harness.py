"""Test harness: a real Postlane on real sockets in a background thread, a real webhook
receiver, and a polling helper. No mocks."""

from __future__ import annotations

import asyncio
import json
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvloop

from postlane.config import Settings
from postlane.runtime import Postlane


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05,
               message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def make_message(to: str, subject: str = "Hello", sender: str = "sender@example.com",
                 headers: dict[str, str] | None = None, body: str = "Hi there") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg


def smtp_send(server: RunningServer, msg: EmailMessage, rcpts: list[str],
              sender: str = "sender@example.com", token: str | None = None) -> tuple[int, str]:
    """Send with smtplib after AUTH; returns the DATA reply code and the MessageID it names."""
    token = token or server.server_token
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as smtp:
        smtp.login(token, token)
        smtp.mail(sender)
        for rcpt in rcpts:
            smtp.rcpt(rcpt)
        # CRLF on the wire: smtplib sends bytes as given, and a bare-LF body over 1000
        # bytes is one "line" too long for the server.
        code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
    return code, reply.decode().rsplit(" ", 1)[-1]


@dataclass
class RunningServer:
    app: Postlane
    account_token: str
    server_token: str
    server_id: int
    _stop: asyncio.Event
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def api_url(self) -> str:
        return self.app.settings.api_url

    @property
    def smtp_port(self) -> int:
        return self.app.settings.smtp_port

    @property
    def inbound_port(self) -> int:
        return self.app.settings.inbound_port

    def api(self, token: str | None = None, account: bool = False) -> httpx.Client:
        """An HTTP client with the server token (or the account token) set."""
        header = "X-Postmark-Account-Token" if account else "X-Postmark-Server-Token"
        value = token or (self.account_token if account else self.server_token)
        return httpx.Client(base_url=self.api_url, headers={header: value,
                                                            "Accept": "application/json"},
                            timeout=30)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        self.app.close()


def start_server(settings: Settings, use_uvloop: bool = False) -> RunningServer:
    """A real server on a thread of its own; ``use_uvloop`` runs it on uvloop, the loop
    ``postlane serve`` uses, instead of asyncio's own."""
    app = Postlane(settings)
    boot = app.prepare()
    app.bind()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def run() -> None:
        loop = uvloop.new_event_loop() if use_uvloop else asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        holder["loop"], holder["stop"] = loop, stop
        try:
            loop.run_until_complete(app.serve(stop, ready=ready.set))
        except BaseException as exc:  # surfaced to the test via holder
            holder["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="postlane-test-server", daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in holder:
        raise RuntimeError(f"server did not start: {holder.get('error')}")
    assert boot.server_id is not None and boot.server_token is not None
    return RunningServer(app, boot.account_token, boot.server_token, boot.server_id,
                         holder["stop"], holder["loop"], thread)


def test_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir, "database_url": database_url, "smtp_port": 0, "api_port": 0,
        "inbound_port": 0,
        "worker_poll_seconds": 0.05, "retry_scale": 0.01, "db_pool_size": 8,
    }
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class WebhookReceiver:
    """A real HTTP server. ``responses`` is consumed one status per request (then 200);
    ``delay`` makes each answer slow; ``port`` 0 picks a free one."""

    responses: list[int] = field(default_factory=list)
    delay: float = 0.0
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        if self._server is None:  # not started yet: known only when the port was given
            assert self.port, "start the receiver or give it a port"
            return f"http://127.0.0.1:{self.port}/hook"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    status = receiver.responses.pop(0) if receiver.responses else 200
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw.decode("utf-8", "replace")
                    receiver.requests.append(Received(self.path, dict(self.headers), body,
                                                      time.monotonic()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
