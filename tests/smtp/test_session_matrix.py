"""Every command in every state of the sans-I/O SMTP session: the reply it gets (exact
codes, RFC 3463 enhanced codes included), the event, and the state it leaves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from postlane.smtp.session import SessionMachine
from postlane.smtp.states import CLOSE, START_TLS, Authenticate, Deliver, Event, State
from tests.support.session_support import (
    PLAIN_TOK,
    authenticated,
    in_transaction,
    machine,
    say,
    talk,
)

COMMANDS = {
    "HELO": b"HELO c.example", "EHLO": b"EHLO c.example", "MAIL": b"MAIL FROM:<m@example.com>",
    "RCPT": b"RCPT TO:<r@example.com>", "DATA": b"DATA", "RSET": b"RSET", "NOOP": b"NOOP",
    "QUIT": b"QUIT", "VRFY": b"VRFY someone", "HELP": b"HELP", "STARTTLS": b"STARTTLS",
    "AUTH": b"AUTH PLAIN " + PLAIN_TOK, "BOGUS": b"BOGUS", "EXPN": b"EXPN list",
}


def _connected() -> SessionMachine:
    return machine()


def _greeted() -> SessionMachine:
    session = machine()
    say(session, b"EHLO client.example\r\n")
    return session


def _mail() -> SessionMachine:
    session = authenticated()
    say(session, b"MAIL FROM:<app@example.com>\r\n")
    return session


def _rcpt() -> SessionMachine:
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    return session


SETUPS: dict[str, Callable[[], SessionMachine]] = {
    "CONNECTED": _connected, "GREETED": _greeted, "GREETED+AUTH": authenticated,
    "MAIL": _mail, "RCPT": _rcpt}

#: The reply and the state after, by command; then what differs by setup.
SAME = object()  # the state does not change
DEFAULT: dict[str, tuple[bytes, object]] = {
    "HELO": (b"250 mx.postlane.test\r\n", State.GREETED),
    "EHLO": (b"250-mx.postlane.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
             b"250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n"
             b"250-AUTH PLAIN LOGIN\r\n250 HELP\r\n", State.GREETED),
    "MAIL": (b"530 5.7.0 Authentication required\r\n", SAME),
    "RCPT": (b"530 5.7.0 Authentication required\r\n", SAME),
    "DATA": (b"530 5.7.0 Authentication required\r\n", SAME),
    "RSET": (b"250 2.0.0 OK\r\n", State.GREETED),
    "NOOP": (b"250 2.0.0 OK\r\n", SAME),
    "QUIT": (b"221 2.0.0 Bye\r\n", State.CLOSED),
    "VRFY": (b"252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n",
             SAME),
    "HELP": (b"214 2.0.0 Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT "
             b"RSET STARTTLS VRFY\r\n", SAME),
    "STARTTLS": (b"220 2.0.0 Ready to start TLS\r\n", State.TLS_PENDING),
    "AUTH": (b"503 5.5.1 Already authenticated\r\n", SAME),
    "BOGUS": (b'500 5.5.2 Error: command "BOGUS" not recognized\r\n', SAME),
    "EXPN": (b"502 5.5.1 EXPN not implemented\r\n", SAME),
}
HELO_FIRST = (b"503 5.5.1 Error: send HELO first\r\n", SAME)
BY_SETUP: dict[str, dict[str, tuple[bytes, object]]] = {
    "CONNECTED": {"MAIL": HELO_FIRST, "RCPT": HELO_FIRST, "DATA": HELO_FIRST,
                  "RSET": (b"250 2.0.0 OK\r\n", State.CONNECTED),
                  "AUTH": (b"503 5.5.1 Error: send EHLO first\r\n", SAME)},
    "GREETED": {"AUTH": (b"", State.AUTHENTICATING)},
    "GREETED+AUTH": {"MAIL": (b"250 2.1.0 OK\r\n", State.MAIL),
                     "RCPT": (b"503 5.5.1 Error: need MAIL command\r\n", SAME),
                     "DATA": (b"503 5.5.1 Error: need RCPT command\r\n", SAME)},
    "MAIL": {"MAIL": (b"503 5.5.1 Error: nested MAIL command\r\n", SAME),
             "RCPT": (b"250 2.1.5 OK\r\n", State.RCPT),
             "DATA": (b"503 5.5.1 Error: need RCPT command\r\n", SAME)},
    "RCPT": {"MAIL": (b"503 5.5.1 Error: nested MAIL command\r\n", SAME),
             "RCPT": (b"250 2.1.5 OK\r\n", State.RCPT),
             "DATA": (b"354 End data with <CR><LF>.<CR><LF>\r\n", State.DATA)},
}
EVENTS: dict[State, Event] = {State.CLOSED: CLOSE, State.TLS_PENDING: START_TLS,
                              State.AUTHENTICATING: Authenticate("tok", "tok")}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_every_command_in_every_state_that_reads_commands(setup: str, command: str) -> None:
    session = SETUPS[setup]()
    before = session.state
    reply, after = BY_SETUP[setup].get(command, DEFAULT[command])
    output, event = talk(session, COMMANDS[command] + b"\r\n")
    assert output == reply
    assert session.state is (before if after is SAME else after)
    assert event == EVENTS.get(session.state)


def _delivering() -> SessionMachine:
    session = _rcpt()
    _, event = talk(session, b"DATA\r\nx\r\n.\r\n")
    assert isinstance(event, Deliver)
    return session


def _authenticating() -> SessionMachine:
    session = _greeted()
    talk(session, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n")
    return session


def _tls_pending() -> SessionMachine:
    session = _greeted()
    talk(session, b"STARTTLS\r\n")
    return session


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("setup", [_delivering, _authenticating, _tls_pending],
                         ids=["DELIVERING", "AUTHENTICATING", "TLS_PENDING"])
def test_no_command_is_answered_while_work_is_pending(
        setup: Callable[[], SessionMachine], command: str) -> None:
    session = setup()
    before = session.state
    assert before.awaits_work
    assert talk(session, COMMANDS[command] + b"\r\n") == (b"", None)
    assert session.state is before and session.expire() is None


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_inside_data_is_content(command: str) -> None:
    session = _rcpt()
    say(session, b"DATA\r\n")
    assert talk(session, COMMANDS[command] + b"\r\n") == (b"", None)
    _, event = talk(session, b".\r\n")
    assert isinstance(event, Deliver) and event.content.endswith(b"\r\n" + COMMANDS[command]
                                                                 + b"\r\n")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_during_a_challenge_is_an_answer(command: str) -> None:
    """None of them is a PLAIN answer: the exchange ends with a 501, no command runs."""
    session = _greeted()
    say(session, b"AUTH PLAIN\r\n")
    assert session.state is State.AUTH_CHALLENGE
    output, event = talk(session, COMMANDS[command] + b"\r\n")
    assert output.startswith(b"501 5.5.2 ") and output.count(b"\r\n") == 1, output
    assert (event, session.state) == (None, State.GREETED)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_after_the_close_is_ignored(command: str) -> None:
    session = _rcpt()
    talk(session, b"QUIT\r\n")
    assert talk(session, COMMANDS[command] + b"\r\n") == (b"", CLOSE)
    assert session.state is State.CLOSED
