"""The real `postlane serve` as a child process, for failure tests that need what a thread
cannot give: SIGKILL mid-load, or per-process resource limits (RLIMIT_FSIZE)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from postlane.cli import banner_fields


@dataclass
class ServeProcess:
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)
    ready: threading.Event = field(default_factory=threading.Event)

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

    def api(self, account: bool = False) -> httpx.Client:
        header = "X-Postmark-Account-Token" if account else "X-Postmark-Server-Token"
        token = self.account_token if account else self.server_token
        return httpx.Client(base_url=self.api_url, timeout=30,
                            headers={header: token, "Accept": "application/json"})

    def output(self) -> str:
        return "".join(self.lines[-200:])

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # read to the end, so the pipe never fills up
            self.lines.append(line)
            self.found.update(banner_fields(line))
            if line.strip() == "Ready.":
                self.ready.set()
        self.ready.set()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it hangs. Safe to call more than once."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def serve(cwd: Path, database_url: str, env: dict[str, str] | None = None,
          preexec_fn: Callable[[], None] | None = None, timeout: float = 60) -> ServeProcess:
    """Start `postlane serve` on ``database_url`` with ephemeral ports; return once it
    prints Ready. ``env`` adds POSTLANE_* settings."""
    command = [sys.executable, "-m", "postlane.cli", "serve", "--smtp-port", "0",
               "--api-port", "0", "--inbound-port", "0", "--database-url", database_url,
               "--data-dir", str(cwd / "postlane-data")]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn)
    running = ServeProcess(proc)
    threading.Thread(target=running._drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not running.ready.wait(0.1):
        if time.monotonic() > deadline:
            break
    if proc.poll() is not None or "api" not in running.found or "server" not in running.found:
        running.stop()
        raise RuntimeError("postlane serve did not start:\n" + running.output())
    return running
