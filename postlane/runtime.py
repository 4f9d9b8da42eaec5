"""Runs the chosen roles (smtp, api, worker, inbound) together on one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
from collections.abc import Callable
from typing import Final

import uvicorn
from starlette.types import ASGIApp

from postlane import bootstrap, processes
from postlane.api.app import create_app
from postlane.asgi.frontends import Frontends
from postlane.config import Settings
from postlane.mx import reports
from postlane.pipeline.runner import Worker
from postlane.smtp import listener
from postlane.store import migrate
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter
from postlane.web import app as dashboard

log = logging.getLogger(__name__)


#: The event loop and HTTP parser uvicorn runs the API with: uvloop and httptools (C),
#: named rather than left to uvicorn's "auto", so a missing one fails loudly.
UVICORN_LOOP: Final = "uvloop"
UVICORN_HTTP: Final = "httptools"


def http_app(db: Database, settings: Settings,
             on_accepted: Callable[[], None] | None = None,
             committer: GroupCommitter | None = None) -> ASGIApp:
    """The HTTP listener's app: the dashboard beside the API, each an app of its own."""
    return Frontends(api=create_app(db, settings, on_accepted, committer),
                     dashboard=dashboard.create_dashboard(db, settings, on_accepted),
                     dashboard_prefixes=dashboard.PATH_PREFIXES)


#: Descriptors kept back from the SMTP session caps, besides a loop pass's accepts per
#: listener (listener.BACKLOG: the connections the caps turn away hold theirs until the
#: pass ends), for what else the process opens (the API's connections, the database's,
#: logs, listening sockets): a quarter of the limit, at least 64.
FD_RESERVE_SHARE, FD_RESERVE_MIN = 4, 64


def raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one, as far as the system lets us
    (the soft default is often 1024 while the hard one is far higher); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # e.g. macOS caps it below the hard limit
            log.info("cannot raise the descriptor limit to %d: %s", target, exc)
    return soft


def session_caps(settings: Settings, listeners: int, fd_limit: int) -> int:
    """Each SMTP listener's session cap: smtp_max_sessions, lowered so that all the
    listeners' sessions together leave the reserve free (idle SMTP sockets must not
    starve the API of descriptors to accept with)."""
    listeners = max(listeners, 1)
    reserve = listeners * (listener.BACKLOG + 1) + max(FD_RESERVE_MIN,
                                                       fd_limit // FD_RESERVE_SHARE)
    fitting = max(1, (fd_limit - reserve) // listeners)
    if fitting < settings.smtp_max_sessions:
        log.warning("descriptor limit %d: SMTP sessions capped at %d per listener instead "
                    "of smtp_max_sessions=%d", fd_limit, fitting, settings.smtp_max_sessions)
    return min(settings.smtp_max_sessions, fitting)


def _bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Postlane:
    """One process of Postlane. ``prepare`` migrates and bootstraps; ``serve`` runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.effective_database_url, settings.db_pool_size)
        self._smtp_sock: socket.socket | None = None
        self._api_sock: socket.socket | None = None
        self._inbound_sock: socket.socket | None = None
        #: Set when the worker runs in other processes: accepts here wake it through this.
        self.wake_pipe: processes.WakePipe | None = None

    def prepare(self) -> bootstrap.Bootstrap:
        migrate.upgrade(self.db)
        return bootstrap.ensure(self.db, self.settings)

    def bind(self) -> None:
        """Bind listening sockets now, so port 0 resolves before anything is printed."""
        roles = self.settings.roles
        updates: dict[str, int] = {}
        if "smtp" in roles:
            listener.tls_context(self.settings)  # make the dev certificate before any fork
            self._smtp_sock = _bind(self.settings.smtp_host, self.settings.smtp_port,
                                    reuse_port=self._smtp_reuse_port)
            updates["smtp_port"] = self._smtp_sock.getsockname()[1]
        if "api" in roles:
            self._api_sock = _bind(self.settings.api_host, self.settings.api_port)
            updates["api_port"] = self._api_sock.getsockname()[1]
        if "inbound" in roles:
            self._inbound_sock = _bind(self.settings.inbound_host, self.settings.inbound_port)
            updates["inbound_port"] = self._inbound_sock.getsockname()[1]
        self.settings = self.settings.model_copy(update=updates)

    async def serve(self, stop: asyncio.Event, ready: Callable[[], None] | None = None) -> None:
        if self._smtp_sock is None and self._api_sock is None and self._inbound_sock is None:
            self.bind()
        worker = Worker(self.db, self.settings) if "worker" in self.settings.roles else None
        on_accepted = self._wake_hook(worker)
        committer = GroupCommitter(self.db)
        mail_servers = await self._start_mail_servers(committer, on_accepted,
                                                      raise_fd_limit())
        tasks: list[asyncio.Task[None]] = []
        api_server = await self._start_api(on_accepted, committer, tasks)
        if worker is not None:
            tasks.append(asyncio.create_task(worker.run(stop)))
        if ready is not None:
            ready()
        await stop.wait()
        for mail_server in mail_servers:
            mail_server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(mail_server.wait_closed(), 5)
        if api_server is not None:
            api_server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        committer.stop()  # after the API: its last requests' sends are committed too

    def _wake_hook(self, worker: Worker | None) -> Callable[[], None] | None:
        """What an accept calls to wake the worker: directly in this process, or through
        the pipe when the worker runs in processes of its own."""
        if self.wake_pipe is None:
            return worker.wake if worker else None
        if worker is not None:
            self.wake_pipe.listen(asyncio.get_running_loop(), worker.wake)
            return worker.wake
        return self.wake_pipe.poke

    async def _start_mail_servers(self, committer: GroupCommitter,
                                  on_accepted: Callable[[], None] | None, fd_limit: int
                                  ) -> list[asyncio.Server]:
        listeners = (self._smtp_sock is not None) + (self._inbound_sock is not None)
        if not listeners:
            return []
        caps = session_caps(self.settings, listeners, fd_limit)
        started: list[asyncio.Server] = []
        if self._smtp_sock is not None:
            committer.start()
            started.append(await listener.start(self.db, self.settings, committer, on_accepted,
                                                sock=self._smtp_sock, max_sessions=caps))
        if self._inbound_sock is not None:
            started.append(await reports.start(self.db, self.settings, on_accepted,
                                               sock=self._inbound_sock, max_sessions=caps))
        return started

    async def _start_api(self, on_accepted: Callable[[], None] | None,
                         committer: GroupCommitter,
                         tasks: list[asyncio.Task[None]]) -> uvicorn.Server | None:
        """uvicorn on the bound socket; returns once it accepts requests."""
        if self._api_sock is None:
            return None
        app = http_app(self.db, self.settings, on_accepted, committer)
        proxies = list(self.settings.api_trusted_proxies)  # none: forwarded headers ignored
        config = uvicorn.Config(app, log_level="warning", lifespan="off", http=UVICORN_HTTP,
                                access_log=False, timeout_graceful_shutdown=5,
                                proxy_headers=bool(proxies), forwarded_allow_ips=proxies)
        api_server = uvicorn.Server(config)
        task = asyncio.create_task(api_server.serve(sockets=[self._api_sock]))
        tasks.append(task)
        # uvicorn offers no event for "started": poll its flag.
        while not api_server.started and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        return api_server

    @property
    def _smtp_reuse_port(self) -> bool:
        return self.settings.smtp_processes > 1 and hasattr(socket, "SO_REUSEPORT")

    def smtp_only(self) -> Postlane:
        """A copy for a forked SMTP acceptor: its own database engine, no other role (one
        worker, API and bounce MX are enough per host), and its own listening socket on
        the same port (SO_REUSEPORT), so the kernel spreads connections evenly over the
        processes. On one shared socket, whichever process was idle took most of them:
        15 of 20 persistent sessions on one process and 5 on the other was usual."""
        child = Postlane(self.settings.model_copy(update={"roles": ("smtp",)}))
        child.wake_pipe = self.wake_pipe
        shared = self._smtp_sock
        if shared is not None and self._smtp_reuse_port:
            child._smtp_sock = _bind(self.settings.smtp_host, self.settings.smtp_port,
                                     reuse_port=True)
            shared.close()  # this process's copy; the parent keeps accepting on its own
        else:
            child._smtp_sock = shared
        return child

    def split_off_worker(self) -> Postlane:
        """Move the worker role to a copy for forked worker processes; this process's
        accepts wake them through a pipe."""
        self.wake_pipe = processes.WakePipe()
        # Decided here, where the API role is: the worker copy alone would refuse.
        private = self.settings.webhook_private_targets_allowed
        others = tuple(role for role in self.settings.roles if role != "worker")
        self.settings = self.settings.model_copy(update={"roles": others})
        child = Postlane(self.settings.model_copy(update={
            "roles": ("worker",), "webhook_allow_private_targets": private}))
        child.wake_pipe = self.wake_pipe
        return child

    def close(self) -> None:
        self.db.close()
