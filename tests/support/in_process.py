"""An in-process Postlane for the API tier: the API app and the pipeline's Worker on one
event loop in a background thread, reached through synchronous httpx clients whose
transport hands each request to httpx.ASGITransport on that loop.

No listening sockets (no SMTP, HTTP or bounce MX listener), but everything after an
accept still happens: the worker screens, delivers (Sandbox) and POSTs webhooks, so
tests that wait for those work as they do against a real server. Tests that need SMTP
use tests.support.harness's real server instead (tests/e2e).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from starlette.types import ASGIApp

from postlane.api.app import create_app
from postlane.config import Settings
from postlane.pipeline.runner import Worker
from postlane.runtime import Postlane
from postlane.store.group_commit import GroupCommitter
from postlane.web.app import create_dashboard

T = TypeVar("T")

#: What the clients' base URL names; nothing listens there, the transport answers.
BASE_URL = "http://postlane.test"
#: How long one request may take before the test fails rather than hangs.
REQUEST_TIMEOUT = 30.0


class LoopThread:
    """An asyncio event loop running in a thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="postlane-in-process",
                                        daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> LoopThread:
        self._thread.start()
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = REQUEST_TIMEOUT) -> T:
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=30)
        self.loop.close()


class LoopTransport(httpx.BaseTransport):
    """A synchronous httpx transport that runs each request through httpx.ASGITransport
    on the loop thread, where the app and the worker live. Application errors come back
    as 500 responses, as from a real server, instead of being raised into the test."""

    def __init__(self, app: ASGIApp, loop: LoopThread) -> None:
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a streamed (e.g. generator) body is read here, in the test's thread
        return self._loop.run(self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._asgi.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=httpx.ByteStream(body), extensions=response.extensions)


@dataclass
class InProcessServer:
    """The API side of tests.support.harness.RunningServer, without sockets."""

    app: Postlane
    account_token: str
    server_token: str
    server_id: int
    _loop: LoopThread
    _transport: LoopTransport
    _stop: asyncio.Event
    _worker: concurrent.futures.Future[None]
    #: The API's group committer (the REST sends' transactions).
    committer: GroupCommitter
    #: The API app itself, for tests that look at its state (its caches).
    api_app: Any = None
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """A client with exactly these headers (none: no token at all)."""
        client = httpx.Client(transport=self._transport, base_url=BASE_URL,
                              headers=headers or {})
        self._clients.append(client)
        return client

    def api(self, token: str | None = None, account: bool = False) -> httpx.Client:
        """An HTTP client with the server token (or the account token) set."""
        header = "X-Postmark-Account-Token" if account else "X-Postmark-Server-Token"
        value = token or (self.account_token if account else self.server_token)
        return self.client({header: value, "Accept": "application/json"})

    def dashboard(self) -> httpx.Client:
        """A cookie-keeping client of the dashboard app (postlane.web), not logged in; the
        dashboard runs on the same loop and database as the API."""
        app = create_dashboard(self.app.db, self.settings)
        client = httpx.Client(transport=LoopTransport(app, self._loop), base_url=BASE_URL)
        self._clients.append(client)
        return client

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self._loop.loop.call_soon_threadsafe(self._stop.set)
        try:
            self._worker.result(timeout=30)
        finally:
            self.committer.stop()
            self._loop.stop()
            self.app.close()


async def _event() -> asyncio.Event:
    return asyncio.Event()


def start_in_process(settings: Settings) -> InProcessServer:
    """Migrate and bootstrap the database, then run the API app and a Worker."""
    postlane = Postlane(settings)
    boot = postlane.prepare()
    assert boot.server_id is not None and boot.server_token is not None
    loop = LoopThread().start()
    try:
        worker = Worker(postlane.db, settings)
        committer = GroupCommitter(postlane.db)
        app = create_app(postlane.db, settings, on_accepted=worker.wake, committer=committer)
        stop = loop.run(_event())
        running = loop.submit(worker.run(stop))
    except BaseException:
        loop.stop()
        postlane.close()
        raise
    return InProcessServer(postlane, boot.account_token, boot.server_token, boot.server_id,
                           loop, LoopTransport(app, loop), stop, running, committer,
                           api_app=app)
