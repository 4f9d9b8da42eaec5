"""Run a real `postlane serve` as a child process and read its banner: for integration
tests (Postlane's own, and an application's CI that wants a local Postmark) and for
benchmarks. Ports are ephemeral; the tokens and URLs come from the banner."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from postlane.cli import banner_fields
from postlane.store import admin, migrate
from postlane.store.database import Database

P = TypeVar("P", bound="ServeProcess")


@dataclass
class ServeProcess:
    """A running `postlane serve` child: its banner values and its output so far."""

    proc: subprocess.Popen[str]
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)
    ready: threading.Event = field(default_factory=threading.Event)
    ready_at: float = math.nan  # time.perf_counter() when "Ready." was read

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def api_url(self) -> str:
        return self.found["api"]

    @property
    def smtp_port(self) -> int:
        return int(self.found["smtp"])

    @property
    def server_token(self) -> str:
        return self.found["server"]

    @property
    def account_token(self) -> str:
        return self.found["account"]

    @property
    def server_id(self) -> int:
        return int(self.found["server_id"])

    @property
    def database_url(self) -> str:
        """The embedded SQLite database (when no database URL was given)."""
        return f"sqlite:///{(self.data_dir / 'postlane.db').resolve()}"

    def api(self, account: bool = False) -> httpx.Client:
        header = "X-Postmark-Account-Token" if account else "X-Postmark-Server-Token"
        token = self.account_token if account else self.server_token
        return httpx.Client(base_url=self.api_url, timeout=30,
                            headers={header: token, "Accept": "application/json"})

    def output(self, last: int = 200) -> str:
        return "".join(self.lines[-last:])

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # read to the end, so the pipe never fills up
            self.lines.append(line)
            self.found.update(banner_fields(line))
            if line.strip() == "Ready.":
                self.ready_at = time.perf_counter()
                self.ready.set()
        self.ready.set()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM and wait; SIGKILL if it hangs. Safe to call more than once."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)


def start(data_dir: Path, *, kind: type[P] = ServeProcess,  # type: ignore[assignment]
          roles: Sequence[str] | None = None, database_url: str | None = None,
          env: dict[str, str] | None = None, cwd: Path | None = None,
          preexec_fn: Callable[[], None] | None = None, log_level: str | None = None,
          timeout: float = 60) -> P:
    """Start `postlane serve` with ephemeral ports and return once it prints "Ready."
    ``env`` adds POSTLANE_* settings; ``preexec_fn`` runs in the child before exec."""
    command = [sys.executable, "-m", "postlane.cli", "serve", "--data-dir", str(data_dir),
               "--smtp-port", "0", "--api-port", "0", "--inbound-port", "0"]
    if roles:
        command += ["--roles", ",".join(roles)]
    if database_url:
        command += ["--database-url", database_url]
    if log_level:
        command += ["--log-level", log_level]
    proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                   **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=preexec_fn)
    running = kind(proc, data_dir)
    threading.Thread(target=running._drain, daemon=True).start()
    if not running.ready.wait(timeout) or proc.poll() is not None:
        running.stop()
        raise RuntimeError("postlane serve did not become ready:\n" + running.output())
    return running


def pg_problem(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``; else the first line of why not (tests
    and benchmarks report it, or fail on it when PostgreSQL is required)."""
    return admin.problem(url)


@contextlib.contextmanager
def fresh_pg_database(admin_url: str, prefix: str = "postlane") -> Iterator[str]:
    """A new, migrated PostgreSQL database (created through ``admin_url``), dropped on
    exit with any connections still open to it. Yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = admin.create_database(admin_url, name)
    try:
        db = Database(url, pool_size=2)
        migrate.upgrade(db)
        db.close()
        yield url
    finally:
        admin.drop_database(admin_url, name)
