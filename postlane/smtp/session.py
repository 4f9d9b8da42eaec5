"""The server side of one SMTP connection, without I/O.

Bytes come in (``feed``), replies go out (``output``), and ``feed`` returns an event for
whatever has to wait on something outside: the handler's token check (``Authenticate``)
and commit (``Deliver``), the TLS handshake (``StartTLS``), closing (``Close``). The result
of that work comes back in (``authenticated``, ``delivered``, ``tls_started``, ...). The
asyncio transport (engine.py) only moves bytes, runs the events and keeps the timers;
tests drive this class with bytes alone.

One ``State`` (states.py) says where the conversation is; what each command does to it
is in commands.py. What outlives a state (the client's name, TLS, who it authenticated
as) is in ``Session``, which the handler reads.

Deadlines (Options): the session's own, a command line's (from when the session starts
waiting for it) and the message data's (from the 354) are fixed when they start, so a
client that sends a byte at a time cannot stretch them; the idle timeout restarts with
every byte. The session keeps the times on its ``now`` clock; ``expire`` closes with 421
once one has passed, and ``deadline`` says when the transport's timer should ask.

PIPELINING: ``feed`` answers every complete command in the buffer, in order, and stops
at the first that waits; the lines after it stay in the buffer until its result is fed
back, so replies keep the order of the commands.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from operator import itemgetter
from typing import Any, Final

from postlane.smtp import commands, replies, trace
from postlane.smtp.auth import Exchange
from postlane.smtp.contract import Envelope, Handler, Options, Session
from postlane.smtp.replies import Banners
from postlane.smtp.states import (
    AUTH_CHALLENGE,
    AUTHENTICATING,
    CLOSE,
    CLOSED,
    CONFIRMING,
    CONNECTED,
    DATA,
    DELIVERING,
    GREETED,
    MAIL,
    TLS_PENDING,
    Close,
    Deliver,
    Event,
    State,
)

#: A command line, CRLF included; longer ones are skipped to their end and refused.
MAX_COMMAND_LINE = 2048
#: What a client may send ahead while a command is still being answered.
MAX_PIPELINED = 256 * 1024
MAX_AUTH_FAILURES = 3


class _Line(enum.Enum):
    TOO_LONG = "a command line over MAX_COMMAND_LINE, skipped"


_TOO_LONG: Final = _Line.TOO_LONG  # a global: cheaper to look up than the member


class SessionMachine:
    """One connection's protocol state. Construct it when the client connects (the
    greeting is the first output); then ``feed`` it bytes as they arrive and write what
    ``output`` holds. ``receive`` only keeps bytes, for when the replies must wait (the
    client does not read them); ``process`` goes on with what is kept.

    The other public attributes are what commands.py works with."""

    def __init__(self, options: Options, handler: Handler, peer: Any,
                 banners: Banners | None = None,
                 clock: Callable[[], float] = time.time,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self.handler = handler
        self.banners = banners or Banners.of(options)
        self.state = CONNECTED
        self.session = Session(peer)
        self.envelope: Envelope | None = None
        self.exchange: Exchange | None = None  # the AUTH exchange under way
        self.unknown_commands = 0
        self._clock = clock  # wall time, for the trace header
        self._now = now  # for the deadlines (the transport passes its loop's clock)
        started = now()
        self._started = self._line_started = self._data_started = self._last_input = started
        self._waiting = True  # for the line whose wait began at _line_started
        #: The replies to write, oldest first; the transport writes and empties it.
        self.output: list[bytes] = [self.banners.greeting]
        self._buffer = bytearray()
        self._skipping = False  # inside a command line over the limit
        self._line_scanned = 0  # how far the buffer is known to hold no line end
        self._data_scanned = 0  # how far the buffer is known to hold no end of DATA
        self._data_dropped = 0  # bytes of an oversized message thrown away so far
        self._eof = False
        self._auth_failures = 0
        self._authenticated = False  # by AUTH (a trusted network is not AUTH)
        self._trace_key: tuple[object, ...] = ()
        self._trace_opening = ""
        handler.connected(self.session)

    # --- what comes in -------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the client, kept until ``process``. While TLS_PENDING they can only
        come through the new TLS layer (the buffer was emptied at STARTTLS and the
        transport stops reading until the handshake): they wait for ``tls_started``."""
        if data and self.state is not CLOSED:
            self._buffer += data
            self._last_input = self._now()

    def feed(self, data: bytes) -> Event | None:
        """``receive`` then ``process``, in one call: the transport's hot path."""
        self.receive(data)
        while True:
            state = self.state
            if state is DATA:
                deliver = self._take_message()
                if deliver is not None:
                    return deliver
                if self.state is DATA:
                    return self._ran_out()
                continue
            if state.awaits_work:
                return None
            if state is CLOSED:
                return CLOSE
            line = self._take_line()
            if line is None:
                return self._ran_out()
            self._waiting = False  # the next line's wait starts when the buffer runs out
            if line is _TOO_LONG:
                self._refuse_overlong(state)
                continue
            event = (commands.auth_answer(self, line) if state is AUTH_CHALLENGE
                     else self._command(line))
            if event is not None:
                return event

    def _ran_out(self) -> Event | None:
        """Nothing complete is left in the buffer: wait for more, or end if none comes."""
        if not self._waiting:
            self._await_line()
        return self._at_end_of_input() if self._eof else None

    def _await_line(self) -> None:
        """The client's next line is awaited from now: its command deadline starts."""
        self._waiting, self._line_started = True, self._now()

    def _refuse_overlong(self, state: State) -> None:
        """A line past the limit: an AUTH answer ends the exchange, a command gets 500."""
        if state is AUTH_CHALLENGE:
            commands.auth_abandoned(self, replies.AUTH_ANSWER_TOO_LONG)
        else:
            self.output.append(replies.LINE_TOO_LONG)

    def process(self) -> Event | None:
        """Handle every complete line (or message) in the buffer, in order, until one needs
        work done outside (its event is returned) or the buffer runs out (None)."""
        return self.feed(b"")

    def end_of_input(self) -> None:
        """The client sends no more. What it sent is still answered, then ``Close``."""
        self._eof = True

    def expire(self) -> Close | None:
        """``Close`` after a 421 once a deadline has passed. None while every one is
        ahead, and while work of ours is pending: that silence is ours, and the session
        deadline waits for the work's answer."""
        state = self.state
        if state.awaits_work or state is CLOSED:
            return None
        at, reply = self._deadline()
        if self._now() < at:
            return None
        self.output.append(reply)
        return self.close()

    def deadline(self) -> float:
        """When the first running deadline ends, on the ``now`` clock (meaningless while
        work is pending: ``expire`` waits for it)."""
        return self._deadline()[0]

    def _deadline(self) -> tuple[float, bytes]:
        options = self.options
        if self.state is DATA:
            started, limit, reply = (self._data_started, options.data_timeout,
                                     replies.DATA_TIMEOUT)
        else:
            started, limit, reply = (self._line_started, options.command_timeout,
                                     replies.COMMAND_TIMEOUT)
        # The first of equal ones wins: a silent client hears that it was idle.
        return min(((max(self._last_input, started) + options.idle_timeout, replies.IDLE),
                    (started + limit, reply),
                    (self._started + options.session_timeout, replies.SESSION_TIMEOUT)),
                   key=itemgetter(0))

    def lost(self) -> None:
        """The connection is gone: nothing more is answered."""
        self.close()
        self.output.clear()

    @property
    def backlogged(self) -> bool:
        """The client keeps sending ahead while work is pending: stop reading it."""
        return self.state.awaits_work and len(self._buffer) > MAX_PIPELINED

    def take_output(self) -> bytes:
        """The replies to write, oldest first (empty when there are none)."""
        output = self.output
        if not output:
            return b""
        data = output[0] if len(output) == 1 else b"".join(output)
        output.clear()
        return data

    # --- results of the work handed out ----------------------------------------------------

    def delivered(self, reply: str) -> None:
        """The handler's reply to the message."""
        if self.state is DELIVERING:
            self.state = GREETED
            self.output.append(replies.wire(reply))
            self._await_line()

    def confirmed(self, refusal: str | None) -> None:
        """The handler's answer to a MAIL it had to confirm (``Confirm``)."""
        if self.state is not CONFIRMING:
            return
        if refusal is None:
            self.state = MAIL
            self.output.append(replies.SENDER_OK)
        else:
            self.state, self.envelope = GREETED, None
            self.output.append(replies.wire(refusal))
        self._await_line()

    def authenticated(self, identity: Any) -> None:
        """The handler's verdict on the credentials: an identity, or None for wrong ones;
        the third wrong one in a session closes it."""
        if self.state is not AUTHENTICATING:
            return
        self.state = GREETED
        self._await_line()
        if identity is not None:
            self.session.identity, self._authenticated = identity, True
            self.output.append(replies.AUTH_OK)
            return
        self._auth_failures += 1
        if self._auth_failures >= MAX_AUTH_FAILURES:
            self.output.append(replies.AUTH_TOO_MANY_FAILURES)
            self.close()
        else:
            self.output.append(replies.AUTH_INVALID)

    def authentication_unavailable(self) -> None:
        """The handler cannot check credentials now (TemporaryFailure)."""
        if self.state is AUTHENTICATING:
            self.state = GREETED
            self.output.append(replies.AUTH_TEMPORARY_FAILURE)
            self._await_line()

    def work_failed(self) -> None:
        """The handler's work raised: 451 so the client retries; a failed upgrade closes."""
        state = self.state
        if state is DELIVERING or state is AUTHENTICATING or state is CONFIRMING:
            self.state, self.envelope = GREETED, None
            self.output.append(replies.INTERNAL_ERROR)
            self._await_line()
        elif state is TLS_PENDING:
            self.close()

    def tls_started(self) -> None:
        """RFC 3207 4.2: the session starts over, as if the client had just connected
        (AUTH included)."""
        if self.state is not TLS_PENDING:
            return
        self.session = Session(self.session.peer, tls=True)
        self.state, self._authenticated = CONNECTED, False
        self.handler.connected(self.session)
        self._await_line()

    # --- what commands.py calls ------------------------------------------------------------

    def close(self) -> Close:
        """Nothing more is read, run or answered (commands pipelined after are dropped)."""
        self.state, self.envelope, self.exchange = CLOSED, None, None
        del self._buffer[:]
        self._line_scanned = 0
        return CLOSE

    def begin_data(self) -> None:
        """354 is sent: what follows is the message. A CRLF of our own in front makes an
        empty message and a dot-stuffed first line look like every other line."""
        self._buffer[:0] = b"\r\n"
        self._data_scanned = self._data_dropped = self._line_scanned = 0
        self._data_started = self._now()
        self.state = DATA

    def begin_tls(self) -> None:
        """220 Ready is sent: RFC 3207 4.2, nothing sent before the handshake counts."""
        del self._buffer[:]
        self._line_scanned = 0
        self.envelope, self.state = None, TLS_PENDING

    # --- reading ---------------------------------------------------------------------------

    def _at_end_of_input(self) -> Close:
        """Every complete line is handled and the client sends no more: the session
        closes; an AUTH exchange that waits for an answer is told why first."""
        if self.state is AUTH_CHALLENGE:
            self.output.append(replies.AUTH_CONNECTION_LOST)
        return self.close()

    def _take_line(self) -> bytearray | _Line | None:
        """The next line without its line ending (a copy: the buffer moves on),
        ``TOO_LONG``, or None for more data. Each search starts where the last one gave
        up, so a line that comes a byte at a time is searched once, not once a byte."""
        buffer = self._buffer
        end = buffer.find(b"\n", self._line_scanned)
        if end < 0:
            if len(buffer) > MAX_COMMAND_LINE:
                self._skipping = True  # keep none of it: memory stays bounded
                del buffer[:]
            self._line_scanned = len(buffer)
            return None
        self._line_scanned = 0
        if self._skipping or end >= MAX_COMMAND_LINE:
            del buffer[:end + 1]
            self._skipping = False
            return _TOO_LONG
        line = buffer[:end - 1] if end and buffer[end - 1] == 13 else buffer[:end]  # CR
        del buffer[:end + 1]
        return line

    def _command(self, line: bytearray) -> Event | None:
        verb_bytes, _, arg_bytes = line.partition(b" ")
        try:
            verb = verb_bytes.upper().decode("ascii")
            arg = arg_bytes.strip().decode("utf-8")
        except UnicodeDecodeError:
            self.output.append(replies.BAD_SYNTAX)
            return None
        if not verb:
            self.output.append(replies.BAD_SYNTAX)
            return None
        command = commands.COMMANDS.get(verb)
        if command is None:
            return commands.unknown(self, verb)
        return command(self, arg)

    def _take_message(self) -> Deliver | None:
        """Look for the end of DATA, CRLF.CRLF only (a bare LF around a dot is content:
        no SMTP smuggling), with one search from where the last one stopped. The size
        limit applies to what the client sent, before our trace header."""
        buffer = self._buffer
        end = buffer.find(b"\r\n.\r\n", self._data_scanned)
        limit = self.options.max_message_bytes
        if end < 0:
            if len(buffer) - 2 > limit:  # refused anyway: keep only a possible terminator
                self._data_dropped += len(buffer) - 4
                del buffer[:-4]
            self._data_scanned = max(len(buffer) - 4, 0)
            return None
        envelope, self.envelope = self.envelope, None
        self._waiting = False  # the next line's wait starts when the buffer runs out
        if self._data_dropped or end > limit:
            del buffer[:end + 5]
            self.state = GREETED
            self.output.append(replies.TOO_BIG)
            return None
        assert envelope is not None
        # RFC 5321 4.5.2 transparency; our CRLF in front ends the trace header.
        content = self._received(envelope)[:-2] + buffer[:end + 2].replace(b"\r\n.", b"\r\n")
        del buffer[:end + 5]
        self.state = DELIVERING
        return Deliver(envelope, content)

    def _received(self, envelope: Envelope) -> bytes:
        """The trace header; its first lines are made once for a session's messages."""
        session = self.session
        key = (session.host_name, session.extended, session.tls, self._authenticated)
        if key != self._trace_key:
            protocol = trace.protocol(session.extended, session.tls, self._authenticated)
            self._trace_key, self._trace_opening = key, trace.opening(
                session.host_name, session.peer, self.options.hostname, protocol)
        return trace.received(self._trace_opening, envelope.rcpt_tos, self._clock())
