"""The asyncio transport of the SMTP engine (postlane/smtp/engine.py) over a fake
transport, in process: replies written in batches, the handler's calls run as tasks,
back-pressure both ways, the deadlines' timer, sender confirmation, end of input and
closing. On asyncio's loop and on uvloop. (tests/smtp/test_smtp_engine.py covers the
same over real sockets.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop

from postlane.smtp.admission import Admission
from postlane.smtp.contract import Confirm, Envelope, Options, Session, TemporaryFailure
from postlane.smtp.engine import MAX_PIPELINED, SMTPProtocol, factory
from tests.support.session_support import PEER, PLAIN_TOK, options

GREETING = b"220 mx.postlane.test Postlane ESMTP\r\n"


@dataclass
class FakeTransport:
    """What the protocol does to its transport."""

    writes: list[bytes] = field(default_factory=list)
    reading: bool = True
    closed: bool = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return PEER if name == "peername" else default

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.closed = True

    def sent(self) -> bytes:
        """Everything written since the last call."""
        data = b"".join(self.writes)
        self.writes.clear()
        return data


@dataclass
class GatedHandler:
    """Trusts every client unless told not to; ``data`` waits for ``gate`` and answers
    ``reply`` (or raises it); ``authenticate`` raises TemporaryFailure for login "down"
    and refuses everyone else."""

    trust: bool = True
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    reply: str | Exception = "250 2.0.0 Ok: queued as 1"
    messages: list[bytes] = field(default_factory=list)

    def connected(self, session: Session) -> None:
        if self.trust:
            session.identity = "trusted"

    def mail(self, session: Session, address: str) -> str | None:
        return None

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None:
        return None

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str:
        await self.gate.wait()
        self.messages.append(content)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    async def authenticate(self, login: str, password: str) -> Any:
        if login == "down":
            raise TemporaryFailure
        return None


Scenario = Callable[[], Coroutine[Any, Any, None]]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Callable[[Scenario], None]:
    def runner(scenario: Scenario) -> None:
        if request.param == "uvloop":
            uvloop.run(scenario())
        else:
            asyncio.run(scenario())
    return runner


async def until(condition: Callable[[], object]) -> None:
    """Let the loop run the protocol's tasks until ``condition`` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def connect(handler: GatedHandler, **overrides: Any) -> tuple[SMTPProtocol, FakeTransport]:
    settings: Options = options(**overrides)
    protocol = factory(settings, handler)()
    transport = FakeTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    assert transport.sent() == GREETING
    return protocol, transport


MESSAGE = b"MAIL FROM:<a@example.com>\r\nRCPT TO:<r@example.com>\r\nDATA\r\nx\r\n.\r\n"
ACCEPTED = b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"


def test_replies_to_a_pipelined_batch_go_out_in_one_write(run: Callable[[Scenario],
                                                                         None]) -> None:
    async def scenario() -> None:
        protocol, transport = connect(GatedHandler())
        protocol.data_received(b"EHLO c\r\nNOOP\r\nNOOP\r\nVRFY x\r\n")
        assert len(transport.writes) == 1 and transport.writes[0].endswith(
            b"250 2.0.0 OK\r\n250 2.0.0 OK\r\n252 2.5.2 Cannot VRFY user, but will accept "
            b"message and attempt delivery\r\n")
    run(scenario)


def test_a_message_is_answered_before_what_was_pipelined_after_it(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler()
        protocol, transport = connect(handler)
        protocol.data_received(b"HELO c\r\n" + MESSAGE + b"NOOP\r\n")
        assert transport.sent() == b"250 mx.postlane.test\r\n" + ACCEPTED
        protocol.data_received(b"NOOP\r\n")
        await until(lambda: protocol.machine.state.awaits_work)
        assert transport.sent() == b""
        handler.gate.set()
        await until(lambda: len(transport.writes) >= 2)
        assert transport.sent() == (b"250 2.0.0 Ok: queued as 1\r\n"
                                    b"250 2.0.0 OK\r\n250 2.0.0 OK\r\n")
        assert handler.messages[0].startswith(b"Received: from c ([192.0.2.1])\r\n")
    run(scenario)


def test_a_client_far_ahead_of_a_slow_commit_is_not_read(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler()
        protocol, transport = connect(handler)
        protocol.data_received(b"HELO c\r\n" + MESSAGE)
        protocol.data_received(b"NOOP\r\n" * (MAX_PIPELINED // 6 + 1))
        assert not transport.reading
        handler.gate.set()
        await until(lambda: transport.reading)
        assert transport.sent().count(b"250 2.0.0 OK\r\n") == MAX_PIPELINED // 6 + 1
    run(scenario)


def test_a_client_that_does_not_read_is_not_read_either(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        protocol, transport = connect(GatedHandler())
        protocol.pause_writing()
        assert not transport.reading
        protocol.data_received(b"NOOP\r\nQUIT\r\n")  # already on its way
        assert transport.sent() == b"" and not transport.closed
        protocol.resume_writing()
        assert transport.reading and transport.sent() == b"250 2.0.0 OK\r\n221 2.0.0 Bye\r\n"
        assert transport.closed
    run(scenario)


def test_a_failing_commit_gets_451_and_the_session_goes_on(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler(reply=RuntimeError("disk on fire"))
        handler.gate.set()
        protocol, transport = connect(handler)
        protocol.data_received(b"HELO c\r\n" + MESSAGE + b"NOOP\r\n")
        await until(lambda: b"".join(transport.writes).endswith(b"250 2.0.0 OK\r\n"))
        assert transport.sent().endswith(b"451 4.3.0 Internal error; please retry\r\n"
                                         b"250 2.0.0 OK\r\n")
    run(scenario)


def test_an_unavailable_token_check_gets_454(run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        protocol, transport = connect(GatedHandler(trust=False), auth=True)
        protocol.data_received(b"EHLO c\r\nAUTH PLAIN AGRvd24AZG93bg==\r\nAUTH PLAIN "
                               + PLAIN_TOK + b"\r\n")
        await until(lambda: b"535" in b"".join(transport.writes))
        assert transport.sent().endswith(b"454 4.7.0 Temporary authentication failure\r\n"
                                         b"535 5.7.8 Authentication credentials invalid\r\n")
    run(scenario)


def test_quit_closes_and_nothing_after_it_is_read(run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler()
        protocol, transport = connect(handler)
        protocol.data_received(b"QUIT\r\nHELO c\r\n")
        assert transport.sent() == b"221 2.0.0 Bye\r\n" and transport.closed
        protocol.data_received(b"NOOP\r\n")
        protocol.connection_lost(None)
        assert transport.writes == []
    run(scenario)


def test_end_of_input_answers_then_closes(run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler()
        protocol, transport = connect(handler)
        protocol.data_received(b"HELO c\r\n" + MESSAGE)
        assert protocol.eof_received() is True  # stays half open until answered
        assert not transport.closed
        handler.gate.set()
        await until(lambda: transport.closed)
        assert transport.sent().endswith(b"250 2.0.0 Ok: queued as 1\r\n")
    run(scenario)


def test_an_idle_client_is_closed_with_421(run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        _, transport = connect(GatedHandler(), idle_timeout=0.05)
        for _ in range(200):
            if transport.closed:
                break
            await asyncio.sleep(0.01)  # the timer's own clock: nothing to poll but time
        assert transport.closed
        assert transport.sent() == b"421 4.4.2 Idle for too long, closing connection\r\n"
    run(scenario)


def test_a_dribbling_client_is_cut_at_the_command_deadline(
        run: Callable[[Scenario], None]) -> None:
    """A byte every 10 ms keeps the idle timer (10 s) quiet; the command deadline (0.1 s
    for the line) closes the connection anyway, on the protocol's own timer."""
    async def scenario() -> None:
        protocol, transport = connect(GatedHandler(), idle_timeout=10, command_timeout=0.1)
        for _i in range(300):
            if transport.closed:
                break
            protocol.data_received(b"x")
            await asyncio.sleep(0.01)
        assert transport.closed
        assert transport.sent() == (b"421 4.4.2 Command line not complete in time, closing "
                                    b"connection\r\n")
    run(scenario)


def test_the_session_deadline_waits_for_a_pending_commit(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler()
        protocol, transport = connect(handler, session_timeout=0.05)
        protocol.data_received(b"HELO c\r\n" + MESSAGE)
        transport.sent()
        await asyncio.sleep(0.1)  # past the deadline, with the commit still pending
        assert not transport.closed
        handler.gate.set()
        await until(lambda: transport.closed)
        assert transport.sent() == (b"250 2.0.0 Ok: queued as 1\r\n421 4.4.2 Session time "
                                    b"limit reached, closing connection\r\n")
    run(scenario)


def test_a_confirmation_runs_as_a_task_and_answers_mail(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        gate = asyncio.Event()

        async def check() -> str | None:
            await gate.wait()
            return None

        handler = GatedHandler()
        handler.mail = lambda session, address: Confirm(check)  # type: ignore[method-assign]
        protocol, transport = connect(handler)
        protocol.data_received(b"HELO c\r\nMAIL FROM:<a@example.com>\r\nNOOP\r\n")
        assert transport.sent() == b"250 mx.postlane.test\r\n"
        gate.set()
        await until(lambda: b"".join(transport.writes).endswith(b"250 2.0.0 OK\r\n"))
        assert transport.sent() == b"250 2.1.0 OK\r\n250 2.0.0 OK\r\n"
    run(scenario)


def test_sessions_are_counted_in_and_out_once_however_they_end(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        caps = Admission(max_sessions=10, max_per_client=10)
        for ending in ("quit", "lost", "both"):
            protocol = factory(options(), GatedHandler(), caps)()
            protocol.connection_made(FakeTransport())  # type: ignore[arg-type]
            assert caps.active == 1
            if ending in ("quit", "both"):
                protocol.data_received(b"QUIT\r\n")
            if ending in ("lost", "both"):
                protocol.connection_lost(None)
            assert caps.active == 0 and caps.per_client == {}
    run(scenario)


def test_over_the_cap_the_client_hears_421_and_nothing_is_read(
        run: Callable[[Scenario], None]) -> None:
    async def scenario() -> None:
        handler = GatedHandler()
        caps = Admission(max_sessions=10, max_per_client=1)
        first = factory(options(), handler, caps)()
        first.connection_made(FakeTransport())  # type: ignore[arg-type]
        turned_away, transport = factory(options(), handler, caps)(), FakeTransport()
        turned_away.connection_made(transport)  # type: ignore[arg-type]
        assert transport.closed and transport.sent() == (
            b"421 4.7.0 mx.postlane.test Too many connections from your address, try again "
            b"later\r\n")
        assert caps.active == 1  # the one turned away was never counted
        assert turned_away.eof_received() is False
        turned_away.data_received(b"NOOP\r\n")  # in flight already: ignored
        turned_away.connection_lost(None)
        assert transport.writes == [] and caps.active == 1
        caps.max_sessions = 1
        other = FakeTransport()
        factory(options(), handler, caps)().connection_made(other)  # type: ignore[arg-type]
        assert other.sent().startswith(b"421 4.7.0 mx.postlane.test Too many connections, ")
    run(scenario)
