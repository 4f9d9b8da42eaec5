"""The SMTP server protocol both listeners share (submission and the bounce MX).

A plain ``asyncio.Protocol``: lines are cut from one buffer as bytes arrive and replies
are written straight to the transport. We used aiosmtpd until the ingest benchmark showed
where its time goes: a coroutine, a stream read and several log calls per command and
per DATA line, and a per-connection constructor that reflects over itself. A bare
aiosmtpd that stores nothing was slower than the targets Postlane must reach while
storing every message durably. Commands that wait on something (DATA's commit, AUTH's
token check, the TLS handshake) run as one task each; lines that arrive meanwhile
(PIPELINING) wait in the buffer, so replies keep the order of the commands.

What a line means is decided in syntax.py; what a session may do (who may send, to
whom, and storing the message) is the handler's business (see ``Handler``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from postlane.smtp import syntax

log = logging.getLogger(__name__)

#: A command line, CRLF included; longer ones are skipped to their end and refused.
MAX_COMMAND_LINE = 2048
#: What a client may send ahead while a command is still being answered.
MAX_PIPELINED = 256 * 1024
MAX_BOGUS_COMMANDS = 5
MAX_AUTH_FAILURES = 3
_LOST = object()  # the connection went away while a line was awaited
_TOO_LONG = object()  # a line over MAX_COMMAND_LINE (skipped)
_AUTH_MECHANISMS = ("PLAIN", "LOGIN")


class TemporaryFailure(Exception):
    """Raised by a handler when it cannot decide now (the database is unreachable)."""


@dataclass
class Session:
    """One connection's state; ``identity`` is what the handler authenticated it as."""

    peer: Any
    tls: bool = False
    host_name: str | None = None
    extended: bool = False
    identity: Any = None


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str] = field(default_factory=list)


class Handler(Protocol):
    """What a listener decides. ``mail`` and ``rcpt`` return a refusal reply or None to
    accept; they are plain functions because they run for every message."""

    def connected(self, session: Session) -> None: ...

    def mail(self, session: Session, address: str) -> str | None: ...

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None: ...

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str: ...

    async def authenticate(self, login: str, password: str) -> Any: ...


@dataclass(frozen=True)
class Options:
    hostname: str
    ident: str
    max_message_bytes: int
    tls_context: ssl.SSLContext | None = None
    #: AUTH is offered and required before MAIL (submission); off for an MX.
    auth: bool = False
    auth_require_tls: bool = True
    idle_timeout: float = 300.0

    def ehlo_lines(self, tls: bool) -> list[str]:
        lines = [self.hostname, f"SIZE {self.max_message_bytes}", "8BITMIME", "SMTPUTF8",
                 "PIPELINING"]
        if self.tls_context is not None and not tls:
            lines.append("STARTTLS")
        if self.auth and (tls or not self.auth_require_tls):
            lines.append("AUTH " + " ".join(_AUTH_MECHANISMS))
        return [*lines, "HELP"]


def factory(options: Options, handler: Handler) -> Callable[[], SMTPProtocol]:
    """A protocol factory for ``loop.create_server``."""
    replies = {tls: syntax.multiline(250, options.ehlo_lines(tls)).encode() + b"\r\n"
               for tls in (False, True)}

    def make() -> SMTPProtocol:
        return SMTPProtocol(options, handler, replies)

    return make


class SMTPProtocol(asyncio.Protocol):
    def __init__(self, options: Options, handler: Handler, ehlo_replies: dict[bool, bytes]
                 ) -> None:
        self._options = options
        self._handler = handler
        self._ehlo_replies = ehlo_replies
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._skipping = False  # inside a command line over the limit
        self._in_data = False
        self._data_scanned = 0
        self._data_dropped = 0  # bytes of an oversized message thrown away so far
        self._busy = False  # a command's task is running; its reply is still to come
        self._answer: asyncio.Future[Any] | None = None  # an AUTH exchange awaits a line
        self._reading_paused = False
        self._writing_paused = False
        self._eof = False
        self._bogus = 0
        self._auth_failures = 0
        self._last_activity = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.session = Session(None)
        self.envelope: Envelope | None = None

    # --- transport events ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.session = Session(transport.get_extra_info("peername"))
        self._handler.connected(self.session)
        self._reply(f"220 {self._options.hostname} {self._options.ident}")
        self._last_activity = self._loop.time()
        self._timer = self._loop.call_later(self._options.idle_timeout, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._close()

    def data_received(self, data: bytes) -> None:
        if self._transport is None:  # closed by us; the transport may still deliver
            return
        self._last_activity = self._loop.time()
        self._buffer += data
        if self._busy and self._answer is None:
            self._update_reading()
        else:
            self._process()

    def eof_received(self) -> bool:
        """The client will send no more; what it sent before (a pipelined QUIT, say)
        is still answered, and then the connection closes."""
        self._eof = True
        self._process()
        return not self.session.tls  # TLS transports cannot stay half open

    def pause_writing(self) -> None:
        """The client does not read its replies: stop reading its commands."""
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._update_reading()
        self._process()

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None:
            return
        pause = self._writing_paused or (self._busy and len(self._buffer) > MAX_PIPELINED)
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _check_idle(self) -> None:
        if self._transport is None:
            return
        idle = self._loop.time() - self._last_activity
        waiting_on_client = not self._busy or self._answer is not None
        if idle >= self._options.idle_timeout and waiting_on_client:
            self._reply("421 4.4.2 Idle for too long, closing connection")
            self._close()
            return
        wait = max(self._options.idle_timeout - idle, 1.0)
        self._timer = self._loop.call_later(wait, self._check_idle)

    # --- reading -------------------------------------------------------------------------

    def _process(self) -> None:
        """Handle every complete line (or message) in the buffer, in order, until a
        command has to wait for its task or the client has to read its replies."""
        while self._transport is not None and not self._writing_paused:
            if self._in_data:
                if not self._take_message():
                    self._close_at_eof()
                    return
                continue
            if self._busy and self._answer is None:
                return
            line = self._take_line()
            if line is None:
                self._close_at_eof()
                return
            if self._answer is not None:
                answer, self._answer = self._answer, None
                answer.set_result(line)
                return
            if line is _TOO_LONG:
                self._reply("500 Command line too long")
            else:
                self._command(line)

    def _close_at_eof(self) -> None:
        """Everything the client sent is answered (or incomplete) and it sends no more."""
        if not self._eof:
            return
        if self._answer is not None:  # an AUTH exchange waits for an answer that won't come
            answer, self._answer = self._answer, None
            answer.set_result(_LOST)
        elif not self._busy:
            self._close()

    def _take_line(self) -> Any:
        """The next line without its line ending, ``_TOO_LONG``, or None for more data."""
        buffer = self._buffer
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_COMMAND_LINE:
                self._skipping = True  # keep none of it: memory stays bounded
                del buffer[:]
            return None
        line = bytes(buffer[:end])
        del buffer[:end + 1]
        if self._skipping or end >= MAX_COMMAND_LINE:
            self._skipping = False
            return _TOO_LONG
        return line[:-1] if line.endswith(b"\r") else line

    def _take_message(self) -> bool:
        """Look for the end of DATA; False while it has not arrived. The buffer starts
        with a CRLF of our own (see _data), so an empty message and a dot-stuffed first
        line look like every other line."""
        buffer = self._buffer
        end = buffer.find(b"\r\n.\r\n", self._data_scanned)
        limit = self._options.max_message_bytes
        if end < 0:
            if len(buffer) - 2 > limit:  # refused anyway: keep only a possible terminator
                self._data_dropped += len(buffer) - 4
                del buffer[:-4]
            self._data_scanned = max(len(buffer) - 4, 0)
            return False
        framed = bytes(buffer[:end + 2])
        del buffer[:end + 5]
        self._in_data = False
        envelope, self.envelope = self.envelope, None
        if self._data_dropped or len(framed) - 2 > limit:
            self._reply("552 5.3.4 Message too big for system")
            return True
        assert envelope is not None
        content = framed.replace(b"\r\n.", b"\r\n")[2:]  # RFC 5321 4.5.2 transparency
        self._start(self._deliver(envelope, content))
        return True

    # --- commands --------------------------------------------------------------------------

    def _command(self, line: bytes) -> None:
        verb_bytes, _, arg_bytes = line.partition(b" ")
        try:
            verb = verb_bytes.upper().decode("ascii")
            arg = arg_bytes.strip().decode("utf-8")
        except UnicodeDecodeError:
            self._reply("500 5.5.2 Error: bad syntax")
            return
        if not verb:
            self._reply("500 5.5.2 Error: bad syntax")
            return
        method = _COMMANDS.get(verb)
        if method is None:
            self._unknown(verb)
        else:
            method(self, arg)

    def _unknown(self, verb: str) -> None:
        if verb in ("EXPN", "TURN", "ETRN", "BDAT"):
            self._reply(f"502 5.5.1 {verb} not implemented")
            return
        self._bogus += 1
        if self._bogus >= MAX_BOGUS_COMMANDS:
            self._reply("502 5.5.1 Too many unrecognized commands, goodbye.")
            self._close()
            return
        self._reply(f'500 5.5.2 Error: command "{verb}" not recognized')

    def _helo(self, arg: str) -> None:
        self._greet(arg, extended=False)

    def _ehlo(self, arg: str) -> None:
        self._greet(arg, extended=True)

    def _greet(self, arg: str, extended: bool) -> None:
        if not arg:
            self._reply(f"501 5.5.4 Syntax: {'EHLO' if extended else 'HELO'} hostname")
            return
        self.session.host_name, self.session.extended, self.envelope = arg, extended, None
        if extended:
            self._write(self._ehlo_replies[self.session.tls])
        else:
            self._reply(f"250 {self._options.hostname}")

    def _may_transact(self) -> bool:
        """HELO/EHLO first, then AUTH where it is required; else the refusal is sent."""
        if self.session.host_name is None:
            self._reply("503 5.5.1 Error: send HELO first")
            return False
        if self._options.auth and self.session.identity is None:
            self._reply("530 5.7.0 Authentication required")
            return False
        return True

    def _mail(self, arg: str) -> None:
        if not self._may_transact():
            return
        if self.envelope is not None:
            self._reply("503 5.5.1 Error: nested MAIL command")
            return
        path = self._read_path(arg, "FROM")
        if path is None:
            return
        refusal = self._mail_params(path.params) or self._handler.mail(self.session,
                                                                       path.address)
        if refusal is not None:
            self._reply(refusal)
            return
        self.envelope = Envelope(path.address)
        self._reply("250 2.1.0 OK")

    def _read_path(self, arg: str, keyword: str) -> syntax.Path | None:
        """The path of a MAIL or RCPT, or None once its 501 is sent."""
        try:
            return syntax.parse_path(arg, keyword)
        except syntax.SyntaxProblem as exc:
            self._reply(f"501 5.5.4 {exc}")
            return None

    def _mail_params(self, params: dict[str, str | None]) -> str | None:
        for name, value in params.items():
            if name == "SIZE":
                if value is None or not value.isdigit():
                    return "501 5.5.4 Syntax: SIZE=<number>"
                if int(value) > self._options.max_message_bytes:
                    return "552 5.3.4 Message size exceeds fixed maximum message size"
            elif name == "BODY":
                if value is None or value.upper() not in ("7BIT", "8BITMIME"):
                    return "501 5.5.4 Syntax: BODY=7BIT|8BITMIME"
            elif name not in ("SMTPUTF8", "AUTH"):  # MAIL AUTH=: RFC 4954 5, ignored
                return f"555 5.5.4 MAIL FROM parameter {name} not recognized"
        return None

    def _rcpt(self, arg: str) -> None:
        if not self._may_transact():
            return
        envelope = self.envelope
        if envelope is None:
            self._reply("503 5.5.1 Error: need MAIL command")
            return
        path = self._read_path(arg, "TO")
        if path is None:
            return
        if path.params:
            self._reply("555 5.5.4 RCPT TO parameters not recognized")
            return
        refusal = self._handler.rcpt(self.session, envelope, path.address)
        if refusal is not None:
            self._reply(refusal)
            return
        envelope.rcpt_tos.append(path.address)
        self._reply("250 2.1.5 OK")

    def _data(self, arg: str) -> None:
        if not self._may_transact():
            return
        if self.envelope is None or not self.envelope.rcpt_tos:
            self._reply("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            self._reply("501 5.5.4 Syntax: DATA")
            return
        self._reply("354 End data with <CR><LF>.<CR><LF>")
        self._buffer[:0] = b"\r\n"
        self._in_data, self._data_scanned, self._data_dropped = True, 0, 0

    async def _deliver(self, envelope: Envelope, content: bytes) -> None:
        self._reply(await self._handler.data(self.session, envelope, content))

    def _rset(self, arg: str) -> None:
        self.envelope = None
        self._reply("250 OK")

    def _noop(self, arg: str) -> None:
        self._reply("250 OK")

    def _quit(self, arg: str) -> None:
        self._reply("221 2.0.0 Bye")
        self._close()

    def _vrfy(self, arg: str) -> None:
        if not arg:
            self._reply("501 5.5.4 Syntax: VRFY <address>")
            return
        self._reply("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery")

    def _help(self, arg: str) -> None:
        self._reply("214 2.0.0 Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT "
                    "RCPT RSET STARTTLS VRFY")

    def _starttls(self, arg: str) -> None:
        context = self._options.tls_context
        if arg:
            self._reply("501 5.5.4 Syntax: STARTTLS")
        elif context is None:
            self._reply("454 4.7.0 TLS not available")
        elif self.session.tls:
            self._reply("503 5.5.1 Already using TLS")
        elif self._writing_paused:  # the handshake would inherit a stalled transport
            self._reply("454 4.7.0 TLS not available now: read the replies first")
        else:
            self._reply("220 2.0.0 Ready to start TLS")
            del self._buffer[:]  # RFC 3207 4.2: nothing sent before the handshake counts
            assert self._transport is not None
            self._transport.pause_reading()  # the handshake's bytes are start_tls's
            self._start(self._upgrade(context))

    async def _upgrade(self, context: ssl.SSLContext) -> None:
        if self._transport is None:  # the client left before the handshake began
            return
        peer = self.session.peer
        try:
            transport = await self._loop.start_tls(self._transport, self, context,
                                                   server_side=True, ssl_handshake_timeout=30)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            log.info("TLS handshake with %s failed: %s", peer, exc)
            self._close()
            return
        if transport is None:
            self._close()
            return
        self._transport = transport
        self._reading_paused = self._writing_paused = False
        # RFC 3207 4.2: the session starts over, as if the client had just connected.
        self.session, self.envelope = Session(peer, tls=True), None
        self._handler.connected(self.session)

    def _auth(self, arg: str) -> None:
        if not self._options.auth:
            self._reply("502 5.5.1 AUTH not available")
        elif not self.session.extended:
            self._reply("503 5.5.1 Error: send EHLO first")
        elif self.session.identity is not None:
            self._reply("503 5.5.1 Already authenticated")
        elif self.envelope is not None:
            self._reply("503 5.5.1 Error: AUTH not allowed during a mail transaction")
        elif self._options.auth_require_tls and not self.session.tls:
            self._reply("538 5.7.11 Encryption required for requested authentication "
                        "mechanism")
        else:
            mechanism, _, initial = arg.partition(" ")
            if mechanism.upper() not in _AUTH_MECHANISMS:
                self._reply("504 5.5.4 Unrecognized authentication type")
            else:
                self._start(self._authenticate(mechanism.upper(), initial.strip()))

    async def _authenticate(self, mechanism: str, initial: str) -> None:
        try:
            if mechanism == "PLAIN":
                login, password = syntax.plain_credentials(await self._answer_to("", initial))
            else:
                user = await self._answer_to("VXNlcm5hbWU6", initial)  # "Username:"
                secret = await self._answer_to("UGFzc3dvcmQ6", "")  # "Password:"
                login, password = (user.decode("utf-8", "replace"),
                                   secret.decode("utf-8", "replace"))
        except syntax.AuthProblem as exc:
            self._reply(str(exc))
            return
        try:
            identity = await self._handler.authenticate(login, password)
        except TemporaryFailure:
            self._reply("454 4.7.0 Temporary authentication failure")
            return
        if identity is None:
            self._auth_failures += 1
            if self._auth_failures >= MAX_AUTH_FAILURES:
                self._reply("421 4.7.0 Too many failed authentication attempts, closing")
                self._close()
            else:
                self._reply("535 5.7.8 Authentication credentials invalid")
            return
        self.session.identity = identity
        self._reply("235 2.7.0 Authentication successful")

    async def _answer_to(self, challenge: str, initial: str) -> bytes:
        """The client's answer: the initial response if it gave one, else the next line
        after a 334 challenge."""
        if initial:
            return syntax.decode_answer(initial.encode())
        if self._transport is None:
            raise syntax.AuthProblem("421 4.4.2 Connection lost")
        self._reply(f"334 {challenge}")
        waiter = self._answer = self._loop.create_future()
        self._process()  # the answer may already be in the buffer
        line = await waiter
        if line is _LOST:
            raise syntax.AuthProblem("421 4.4.2 Connection lost")
        if line is _TOO_LONG:
            raise syntax.AuthProblem("500 5.5.6 Authentication answer too long")
        answer: bytes = line
        return syntax.decode_answer(answer)

    # --- writing and tasks -------------------------------------------------------------------

    def _reply(self, text: str) -> None:
        self._write(syntax.printable_reply(text).encode() + b"\r\n")

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def _close(self) -> None:
        """Nothing more is read, run or answered. Done here rather than left to
        connection_lost: that comes a loop pass later (commands already in the buffer
        would still run after a QUIT), and not at all for a failed TLS handshake."""
        transport, self._transport = self._transport, None
        del self._buffer[:]
        if self._timer is not None:
            self._timer.cancel()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(_LOST)
        if transport is not None:
            transport.close()

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        self._busy = True
        self._loop.create_task(work).add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._busy = False
        self._answer = None
        if not task.cancelled() and task.exception() is not None:
            log.error("SMTP command failed", exc_info=task.exception())
            self._reply("451 4.3.0 Internal error; please retry")
        self._update_reading()
        self._process()


_COMMANDS: dict[str, Callable[[SMTPProtocol, str], None]] = {
    "HELO": SMTPProtocol._helo, "EHLO": SMTPProtocol._ehlo, "MAIL": SMTPProtocol._mail,
    "RCPT": SMTPProtocol._rcpt, "DATA": SMTPProtocol._data, "RSET": SMTPProtocol._rset,
    "NOOP": SMTPProtocol._noop, "QUIT": SMTPProtocol._quit, "VRFY": SMTPProtocol._vrfy,
    "HELP": SMTPProtocol._help, "STARTTLS": SMTPProtocol._starttls, "AUTH": SMTPProtocol._auth,
}
