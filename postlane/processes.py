"""Extra processes: one Python process tops out at about one core, so busy deployments
run several SMTP acceptors on the same listening socket (the kernel spreads connections
among them, each acceptor with its own group commit, like Postfix's smtpd processes)
and the worker in processes of its own, woken through a pipe.

Children are forked after the socket is bound and before any event loop or database
connection exists in the parent's serving path; each builds its own engine. They die with
the parent (PR_SET_PDEATHSIG) and are stopped with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent still stops us on exit
        pass


def fork_children(count: int, child_main: Callable[[], None]) -> list[int]:
    """Start ``count`` children running ``child_main``; returns their pids."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                _die_with_parent()
                child_main()
            except BaseException:
                log.exception("SMTP child process failed")
                code = 1
            finally:
                os._exit(code)
        pids.append(pid)
    return pids


def stop_children(pids: list[int], timeout: float = 10.0) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            continue


class WakePipe:
    """Lets acceptors in one process wake workers in forked ones at once, instead of the
    workers finding new jobs only at their next poll."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def poke(self) -> None:
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self._write, b"\0")

    def listen(self, loop: asyncio.AbstractEventLoop, wake: Callable[[], None]) -> None:
        def readable() -> None:
            with contextlib.suppress(BlockingIOError):
                os.read(self._read, 65536)
                wake()

        loop.add_reader(self._read, readable)
