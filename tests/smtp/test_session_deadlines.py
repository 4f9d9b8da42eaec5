"""The session's deadlines (issue 12, item 3) and its line cutter (item 6), with bytes and
a clock moved by hand: the idle timeout restarts with every byte, but the command
line's, the message data's and the session's deadlines are fixed when they start, so a
client that dribbles a byte at a time is still cut, with 421 4.4.2. Work of ours that is
pending is never cut off: its answer goes out first. And a long line that arrives a byte
at a time is searched once, not once a byte."""

from __future__ import annotations

from typing import Any

from postlane.smtp.session import MAX_COMMAND_LINE, SessionMachine
from postlane.smtp.states import CLOSE, Deliver, State
from tests.support.session_support import (
    SteppedClock,
    authenticated,
    in_transaction,
    machine,
    say,
    talk,
)

IDLE = b"421 4.4.2 Idle for too long, closing connection\r\n"
COMMAND = b"421 4.4.2 Command line not complete in time, closing connection\r\n"
DATA = b"421 4.4.2 Message data not complete in time, closing connection\r\n"
SESSION = b"421 4.4.2 Session time limit reached, closing connection\r\n"
TIMEOUTS = {"idle_timeout": 10.0, "command_timeout": 30.0, "data_timeout": 60.0,
            "session_timeout": 1000.0}


def _session(**overrides: Any) -> tuple[SessionMachine, SteppedClock]:
    clock = SteppedClock()
    return authenticated(now=clock, **{**TIMEOUTS, **overrides}), clock


def _dribble(session: SessionMachine, clock: SteppedClock, data: bytes,
             every: float) -> float:
    """Send ``data`` a byte every ``every`` seconds (each within the idle timeout) until
    the session expires; how long that took."""
    started = clock.now
    for byte in data:
        clock.advance(every)
        if session.expire() is not None:
            return clock.now - started
        assert talk(session, bytes([byte])) == (b"", None)
    raise AssertionError("never cut")


def test_a_silent_client_is_closed_at_the_idle_timeout() -> None:
    session, clock = _session()
    clock.advance(9.9)
    assert session.expire() is None and session.deadline() == clock.now + 0.1
    clock.advance(0.1)
    assert session.expire() is CLOSE and session.take_output() == IDLE
    assert session.expire() is None and session.take_output() == b""  # closed already


def test_every_byte_restarts_the_idle_timeout_but_not_the_command_deadline() -> None:
    session, clock = _session()
    took = _dribble(session, clock, b"NOOP" + b" x" * 100, every=5)
    assert took == 30 and session.take_output() == COMMAND
    assert session.state is State.CLOSED


def test_the_command_deadline_starts_again_with_each_line() -> None:
    """A client that sends each command promptly is cut by nothing but the session's own
    deadline, however long it goes on."""
    session, clock = _session()
    for _ in range(30):  # 270 s: nine command deadlines
        clock.advance(9)
        assert session.expire() is None
        assert say(session, b"NOOP\r\n") == b"250 2.0.0 OK\r\n"
    clock.advance(9)
    assert session.expire() is None
    pipelined, later = _session(idle_timeout=100)
    say(pipelined, b"NOOP\r\nNO")  # a line begun after a complete one: its wait starts now
    later.advance(29)
    assert pipelined.expire() is None
    later.advance(1)
    assert pipelined.expire() is CLOSE


def test_an_authentication_answer_has_the_command_deadline() -> None:
    clock = SteppedClock()
    fresh = machine(now=clock, **TIMEOUTS)
    say(fresh, b"EHLO c\r\nAUTH LOGIN\r\n")
    assert fresh.state is State.AUTH_CHALLENGE
    took = _dribble(fresh, clock, b"dXNlcg" * 100, every=5)
    assert took == 30 and fresh.take_output() == COMMAND


def test_a_dribbled_message_is_cut_at_the_data_deadline() -> None:
    session, clock = _session()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    # Past the command deadline (30 s) and within the idle timeout each time: only the
    # data deadline (60 s from the 354) applies.
    took = _dribble(session, clock, b"Subject: slow\r\n" * 100, every=5)
    assert took == 60 and session.take_output() == DATA


def test_a_silent_client_inside_data_is_idle() -> None:
    session, clock = _session()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    clock.advance(10)
    assert session.expire() is CLOSE and session.take_output() == IDLE


def test_the_session_deadline_cuts_a_client_that_keeps_sending() -> None:
    session, clock = _session(session_timeout=100)
    started = clock.now
    while session.expire() is None:
        assert say(session, b"NOOP\r\n") == b"250 2.0.0 OK\r\n"
        clock.advance(5)
    assert clock.now - started == 100 and session.take_output() == SESSION


def test_pending_work_is_answered_before_any_deadline_closes() -> None:
    """The silence is ours while the message is being stored: nothing expires, and the
    session deadline that passed meanwhile closes only after the answer."""
    session, clock = _session(session_timeout=100)
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    _, event = talk(session, b"x\r\n.\r\n")
    assert isinstance(event, Deliver) and session.state.awaits_work
    clock.advance(500)  # past every deadline
    assert session.expire() is None
    session.delivered("250 2.0.0 Ok: queued as 1")
    assert session.expire() is CLOSE
    assert session.take_output() == b"250 2.0.0 Ok: queued as 1\r\n" + SESSION


def test_the_wait_for_the_next_command_starts_when_the_work_is_done() -> None:
    session, clock = _session()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    talk(session, b"x\r\n.\r\n")
    clock.advance(45)  # a slow commit, longer than the idle and command timeouts
    session.delivered("250 2.0.0 Ok: queued as 1")
    assert session.expire() is None and session.deadline() == clock.now + 10


class CountingBuffer(bytearray):
    """A session buffer that counts the bytes its searches go over."""

    scanned = 0

    def find(self, sub: Any, start: Any = 0, *rest: Any) -> int:
        self.scanned += max(len(self) - (start or 0), 0)
        return super().find(sub, start, *rest)


def _counting(session: SessionMachine) -> CountingBuffer:
    buffer = CountingBuffer(session._buffer)
    session._buffer = buffer
    return buffer


def test_a_line_that_comes_a_byte_at_a_time_is_searched_once() -> None:
    """Searching the whole buffer again for each byte made a line of n bytes cost n²/2."""
    session = machine()
    buffer = _counting(session)
    line = b"NOOP " + b"x" * (MAX_COMMAND_LINE - 8) + b"\r\n"
    for byte in line:
        session.feed(bytes([byte]))
    assert session.take_output() == b"250 2.0.0 OK\r\n"
    assert buffer.scanned <= 2 * len(line)


def test_an_overlong_line_a_byte_at_a_time_is_searched_once_and_refused() -> None:
    session = machine()
    buffer = _counting(session)
    line = b"NOOP " + b"x" * 50_000 + b"\r\n"
    for byte in line:
        session.feed(bytes([byte]))
    assert session.take_output() == b"500 5.5.2 Command line too long\r\n"
    assert buffer.scanned <= 2 * len(line)
    assert say(session, b"NOOP\r\n") == b"250 2.0.0 OK\r\n"
