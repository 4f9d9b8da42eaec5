"""The SMTP server protocol both listeners share (submission and the bounce MX): the
asyncio side of the session in session.py.

A plain ``asyncio.Protocol`` that owns only the I/O: bytes that arrive go to the session,
its replies go straight to the transport, and the events it returns are run here: the
handler's token check, sender confirmation and commit as one task each, the TLS
upgrade, closing; plus one timer for the session's deadlines (session.py keeps the times)
and pausing reading when the client sends too far ahead or does not read its replies.
We used aiosmtpd until the ingest benchmark showed where its time goes: a coroutine, a
stream read and several log calls per command and per DATA line. Here a
command costs a buffer search and a dictionary lookup, and a message one search for its
end.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, cast

from postlane.smtp.admission import Admission
from postlane.smtp.contract import (
    Confirm,
    Envelope,
    Handler,
    Options,
    Session,
    TemporaryFailure,
)
from postlane.smtp.replies import Banners
from postlane.smtp.session import MAX_COMMAND_LINE, MAX_PIPELINED, SessionMachine
from postlane.smtp.states import Authenticate, Close, Deliver, Event, StartTLS

__all__ = ["MAX_COMMAND_LINE", "MAX_PIPELINED", "Envelope", "Handler", "Options",
           "SMTPProtocol", "Session", "TemporaryFailure", "factory"]

log = logging.getLogger(__name__)


def factory(options: Options, handler: Handler,
            admission: Admission | None = None) -> Callable[[], SMTPProtocol]:
    """A protocol factory for ``loop.create_server``; ``admission``: the session caps."""
    banners = Banners.of(options)

    def make() -> SMTPProtocol:
        return SMTPProtocol(options, handler, banners, admission)

    return make


class SMTPProtocol(asyncio.Protocol):
    def __init__(self, options: Options, handler: Handler, banners: Banners,
                 admission: Admission | None = None) -> None:
        self._options = options
        self._handler = handler
        self._banners = banners
        self._admission = admission
        self._released: Callable[[], None] | None = None  # counts the session out
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._timer: asyncio.TimerHandle | None = None
        self.machine: SessionMachine  # made in connection_made, once the peer is known

    # --- transport events ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        if self._admission is not None and not self._admitted(transport, peer):
            return
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.machine = SessionMachine(self._options, self._handler, peer, self._banners,
                                      now=self._loop.time)
        self._flush()
        self._check_time()

    def _admitted(self, transport: asyncio.BaseTransport, peer: Any) -> bool:
        """Within the caps the session is counted in; over them the client hears 421
        instead of the greeting and the connection closes before anything is read
        (reading starts only after connection_made, and not on a closing transport)."""
        assert self._admission is not None
        refusal = self._admission.refusal(peer)
        if refusal is None:
            self._released = self._admission.admit(peer)
            return True
        banners = self._banners
        cast(asyncio.Transport, transport).write(
            banners.too_many_from_client if refusal else banners.too_many)
        transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:  # None: turned away, or closed by us already
            self.machine.lost()
        self._close()

    def data_received(self, data: bytes) -> None:
        if self._transport is None:  # closed by us; the transport may still deliver
            return
        machine = self.machine
        if self._writing_paused:
            machine.receive(data)  # answered once the client reads again
            return
        event = machine.feed(data)
        output = machine.output
        if output:
            self._transport.write(output[0] if len(output) == 1 else b"".join(output))
            output.clear()
        if event is not None:
            self._run(event)
        elif machine.state.awaits_work:
            self._update_reading()  # sent far ahead of a slow command?

    def eof_received(self) -> bool:
        """The client will send no more; what it sent before (a pipelined QUIT, say)
        is still answered, and then the connection closes."""
        if self._transport is None:  # turned away, or closed by us
            return False
        self.machine.end_of_input()
        self._advance()
        return not self.machine.session.tls  # TLS transports cannot stay half open

    def pause_writing(self) -> None:
        """The client does not read its replies: stop reading its commands."""
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._update_reading()
        self._advance()

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None:
            return
        pause = self._writing_paused or self.machine.backlogged
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _check_time(self) -> None:
        """Close once a deadline has passed; else sleep until the first one ends, but no
        longer than the shortest timeout: a deadline that starts meanwhile (the 354's,
        say) cannot end sooner than that, so none is missed without rearming the timer
        on every state change. While our own work is pending nothing can expire."""
        if self._transport is None:
            return
        machine = self.machine
        if self._expired():
            return
        wait = self._options.shortest_timeout
        if not machine.state.awaits_work:
            wait = min(wait, machine.deadline() - self._loop.time())
        self._timer = self._loop.call_later(max(wait, 0.001), self._check_time)

    def _expired(self) -> bool:
        if self.machine.expire() is None:
            return False
        self._flush()
        self._close()
        return True

    # --- running the session ---------------------------------------------------------------

    def _advance(self) -> None:
        """Let the session handle what it has, write its replies and run its event. Not
        while the client does not read: replies would pile up here instead."""
        if self._transport is None or self._writing_paused:
            return
        event = self.machine.feed(b"")
        self._flush()
        if event is not None:
            self._run(event)

    def _run(self, event: Event) -> None:
        if isinstance(event, Deliver):
            self._start(self._deliver(event))
        elif isinstance(event, Authenticate):
            self._start(self._authenticate(event))
        elif isinstance(event, Confirm):
            self._start(self._confirm(event))
        elif isinstance(event, StartTLS):
            assert self._transport is not None
            self._transport.pause_reading()  # the handshake's bytes are start_tls's
            self._start(self._upgrade())
        elif isinstance(event, Close):
            self._close()

    def _flush(self) -> None:
        output = self.machine.output
        if output and self._transport is not None:
            self._transport.write(output[0] if len(output) == 1 else b"".join(output))
        output.clear()

    async def _deliver(self, event: Deliver) -> None:
        reply = await self._handler.data(self.machine.session, event.envelope, event.content)
        self.machine.delivered(reply)
        self._flush()

    async def _confirm(self, event: Confirm) -> None:
        self.machine.confirmed(await event.check())
        self._flush()

    async def _authenticate(self, event: Authenticate) -> None:
        try:
            identity = await self._handler.authenticate(event.login, event.password)
        except TemporaryFailure:
            self.machine.authentication_unavailable()
        else:
            self.machine.authenticated(identity)
        self._flush()

    async def _upgrade(self) -> None:
        context = self._options.tls_context
        assert context is not None  # STARTTLS is refused without one
        if self._transport is None:  # the client left before the handshake began
            return
        try:
            transport = await self._loop.start_tls(self._transport, self, context,
                                                   server_side=True, ssl_handshake_timeout=30)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            log.info("TLS handshake with %s failed: %s", self.machine.session.peer, exc)
            transport = None
        if transport is None:
            self.machine.lost()
            self._close()
            return
        self._transport = transport
        self._reading_paused = self._writing_paused = False
        self.machine.tls_started()

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        self._loop.create_task(work).add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("SMTP command failed", exc_info=task.exception())
            self.machine.work_failed()
            self._flush()
        if self._reading_paused:  # paused for a backlog that may now be read
            self._update_reading()
        # The session's deadline may have passed while the work was pending.
        if self._transport is not None and not self._expired():
            self._advance()

    def _close(self) -> None:
        """Nothing more is read, run or answered. Done here rather than left to
        connection_lost: that comes a loop pass later, and not at all for a failed TLS
        handshake. Replies already written still go out (transport.close flushes)."""
        transport, self._transport = self._transport, None
        if self._timer is not None:
            self._timer.cancel()
        if transport is not None:
            transport.close()
        released, self._released = self._released, None
        if released is not None:
            released()
