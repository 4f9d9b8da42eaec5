"""The real `postlane serve` as a child process, for failure tests that need what a thread
cannot give: SIGKILL mid-load, or per-process resource limits (RLIMIT_FSIZE)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from postlane.testing import ServeProcess, start

__all__ = ["ServeProcess", "serve"]


def serve(cwd: Path, database_url: str, env: dict[str, str] | None = None,
          preexec_fn: Callable[[], None] | None = None, timeout: float = 60) -> ServeProcess:
    """Start `postlane serve` on ``database_url``; it must answer on its API and SMTP."""
    running = start(cwd / "postlane-data", database_url=database_url, env=env, cwd=cwd,
                    preexec_fn=preexec_fn, timeout=timeout)
    if "api" not in running.found or "server" not in running.found:
        running.stop()
        raise RuntimeError("postlane serve printed no API URL or token:\n" + running.output())
    return running
