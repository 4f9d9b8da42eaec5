"""The sans-I/O SMTP session's AUTH (RFC 4954: PLAIN, LOGIN, failures, the three-strikes
close) and STARTTLS (RFC 3207: the discard of what was sent ahead, the fresh start after
the handshake), with bytes alone."""

from __future__ import annotations

from base64 import b64encode

import pytest

from postlane.smtp.session import MAX_COMMAND_LINE
from postlane.smtp.states import CLOSE, START_TLS, Authenticate, Deliver, State
from tests.support.session_support import (
    PEER,
    PLAIN_TOK,
    FakeHandler,
    SteppedClock,
    authenticated,
    in_transaction,
    machine,
    say,
    talk,
    trace,
)

USERNAME = b"334 VXNlcm5hbWU6\r\n"
PASSWORD = b"334 UGFzc3dvcmQ6\r\n"


def _b64(text: str) -> bytes:
    return b64encode(text.encode())


def test_auth_plain_with_an_initial_response() -> None:
    session = machine()
    say(session, b"EHLO client.example\r\n")
    output, event = talk(session, b"AUTH plain " + PLAIN_TOK + b"\r\nMAIL FROM:<a@example.com>"
                         b"\r\n")
    assert (output, event) == (b"", Authenticate("tok", "tok"))
    assert session.state is State.AUTHENTICATING and session.process() is None
    session.authenticated(("server", 1))
    assert session.state is State.GREETED and session.session.identity == ("server", 1)
    assert say(session, b"") == b"235 2.7.0 Authentication successful\r\n250 2.1.0 OK\r\n"


def test_auth_plain_after_a_challenge() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    assert say(session, b"AUTH PLAIN\r\n") == b"334 \r\n"
    assert session.state is State.AUTH_CHALLENGE
    assert talk(session, _b64("authz\0user\0secret") + b"\r\n") == (
        b"", Authenticate("user", "secret"))


def test_auth_login_step_by_step_and_pipelined() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    assert say(session, b"AUTH LOGIN\r\n") == USERNAME
    assert say(session, _b64("user") + b"\r\n") == PASSWORD
    assert talk(session, _b64("p\u00e4ss") + b"\r\n") == (b"", Authenticate("user", "p\u00e4ss"))
    session.authenticated(None)
    assert say(session, b"") == b"535 5.7.8 Authentication credentials invalid\r\n"
    output, event = talk(session, b"AUTH LOGIN " + _b64("user") + b"\r\n" + _b64("pw") + b"\r\n")
    assert (output, event) == (PASSWORD, Authenticate("user", "pw"))


def test_the_password_is_not_in_the_event_repr() -> None:
    assert "secret" not in repr(Authenticate("user", "secret"))


@pytest.mark.parametrize(("answer", "reply"), [
    (b"*", b"501 5.7.0 Auth aborted"),
    (b"not base64!", b"501 5.5.2 Can't decode base64"),
    (b"=", b"501 5.5.2 Malformed PLAIN credentials"),
    (_b64("no separators"), b"501 5.5.2 Malformed PLAIN credentials"),
    (b"A" * MAX_COMMAND_LINE, b"500 5.5.6 Authentication answer too long"),
])
def test_an_unusable_answer_ends_the_exchange(answer: bytes, reply: bytes) -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    assert say(session, b"AUTH PLAIN\r\n") == b"334 \r\n"
    assert say(session, answer + b"\r\nNOOP\r\n") == reply + b"\r\n250 2.0.0 OK\r\n"
    assert session.state is State.GREETED and session.session.identity is None


def test_an_unusable_initial_response() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    assert say(session, b"AUTH PLAIN !!\r\nAUTH LOGIN *\r\n") == (
        b"501 5.5.2 Can't decode base64\r\n501 5.7.0 Auth aborted\r\n")


def test_three_wrong_credentials_close_the_session() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    for attempt in range(3):
        assert talk(session, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n") == (
            b"", Authenticate("tok", "tok"))
        session.authenticated(None)
        if attempt < 2:
            assert say(session, b"") == b"535 5.7.8 Authentication credentials invalid\r\n"
    assert talk(session, b"") == (
        b"421 4.7.0 Too many failed authentication attempts, closing\r\n", CLOSE)


def test_a_temporary_failure_and_a_crash_are_not_counted() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    for _ in range(3):
        talk(session, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n")
        session.authentication_unavailable()
        assert say(session, b"") == b"454 4.7.0 Temporary authentication failure\r\n"
        talk(session, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n")
        session.work_failed()
        assert say(session, b"") == b"451 4.3.0 Internal error; please retry\r\n"
    assert session.state is State.GREETED


def test_when_auth_is_refused() -> None:
    mx = machine(auth=False)
    say(mx, b"EHLO c\r\n")
    assert say(mx, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n") == b"502 5.5.1 AUTH not available\r\n"
    helo = machine()
    say(helo, b"HELO c\r\n")
    assert say(helo, b"AUTH PLAIN\r\n") == b"503 5.5.1 Error: send EHLO first\r\n"
    clear = machine(auth_require_tls=True)
    say(clear, b"EHLO c\r\n")
    assert say(clear, b"AUTH PLAIN\r\n") == (
        b"538 5.7.11 Encryption required for requested authentication mechanism\r\n")
    done = authenticated()
    assert say(done, b"AUTH PLAIN\r\n") == b"503 5.5.1 Already authenticated\r\n"
    trusted = machine(FakeHandler(trusted="server"))
    say(trusted, b"EHLO c\r\n")
    assert say(trusted, b"AUTH PLAIN\r\n") == b"503 5.5.1 Already authenticated\r\n"
    say(trusted, b"MAIL FROM:<a@example.com>\r\n")
    trusted.session.identity = None  # as if the trust were withdrawn mid-transaction
    assert say(trusted, b"AUTH PLAIN\r\n") == (
        b"503 5.5.1 Error: AUTH not allowed during a mail transaction\r\n")
    fresh = machine()
    say(fresh, b"EHLO c\r\n")
    assert say(fresh, b"AUTH CRAM-MD5\r\nAUTH\r\n") == (
        b"504 5.5.4 Unrecognized authentication type\r\n" * 2)


def test_the_end_of_input_or_silence_during_a_challenge() -> None:
    leaving = machine()
    say(leaving, b"EHLO c\r\n")
    say(leaving, b"AUTH LOGIN\r\n")
    leaving.end_of_input()
    assert talk(leaving, b"") == (b"421 4.4.2 Connection lost\r\n", CLOSE)
    clock = SteppedClock()
    silent = machine(now=clock)
    say(silent, b"EHLO c\r\n")
    say(silent, b"AUTH LOGIN\r\n")
    checking = machine(now=clock)
    say(checking, b"EHLO c\r\n")
    talk(checking, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n")
    clock.advance(300)
    assert silent.expire() is CLOSE
    assert checking.expire() is None  # the wait is ours, not the client's


def test_starttls_discards_what_was_sent_ahead_and_starts_over() -> None:
    """RFC 3207 4.2: commands pipelined in clear text after STARTTLS must not run inside
    the TLS session (the STARTTLS command injection attack); after the handshake the
    client starts over, AUTH and transaction included."""
    handler = FakeHandler()
    session = authenticated(handler)
    in_transaction(session, "rcpt@example.com")
    output, event = talk(session, b"STARTTLS\r\nMAIL FROM:<injected@example.com>\r\n")
    assert (output, event) == (b"220 2.0.0 Ready to start TLS\r\n", START_TLS)
    assert session.state is State.TLS_PENDING and session.process() is None
    session.tls_started()
    assert session.state is State.CONNECTED and session.envelope is None
    assert session.session.tls and session.session.identity is None
    assert [s.peer for s in handler.sessions] == [PEER, PEER]
    assert handler.sessions[-1] is session.session and handler.calls == [
        ("mail", "app@example.com"), ("rcpt", "rcpt@example.com")]
    assert say(session, b"MAIL FROM:<a@example.com>\r\n") == (
        b"503 5.5.1 Error: send HELO first\r\n")
    assert say(session, b"EHLO c\r\n") == (
        b"250-mx.postlane.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
        b"250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n")
    assert say(session, b"MAIL FROM:<a@example.com>\r\nSTARTTLS\r\n") == (
        b"530 5.7.0 Authentication required\r\n503 5.5.1 Already using TLS\r\n")


def test_what_arrives_through_tls_before_the_upgrade_is_reported_waits() -> None:
    """A client may speak as soon as its handshake is done, before the transport has
    told the session: those bytes are the TLS session's first command."""
    session = machine()
    say(session, b"EHLO c\r\n")
    talk(session, b"STARTTLS\r\n")
    session.receive(b"EHLO secure.example\r\n")
    assert session.process() is None and session.take_output() == b""
    session.tls_started()
    assert say(session, b"").startswith(b"250-mx.postlane.test\r\n")
    assert session.session.host_name == "secure.example"


def test_starttls_refusals_and_a_failed_handshake() -> None:
    session = machine()
    assert say(session, b"STARTTLS now\r\n") == b"501 5.5.4 Syntax: STARTTLS\r\n"
    plain = machine(tls_context=None)
    assert say(plain, b"STARTTLS\r\n") == b"454 4.7.0 TLS not available\r\n"
    assert talk(session, b"STARTTLS\r\n") == (b"220 2.0.0 Ready to start TLS\r\n", START_TLS)
    session.work_failed()
    assert (session.state, session.process()) == (State.CLOSED, CLOSE)


def test_the_trace_header_after_tls_and_auth() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    talk(session, b"STARTTLS\r\n")
    session.tls_started()
    say(session, b"EHLO client.example\r\n")
    talk(session, b"AUTH PLAIN " + PLAIN_TOK + b"\r\n")
    session.authenticated("identity")
    say(session, b"")
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    _, event = talk(session, b"x\r\n.\r\n")
    assert isinstance(event, Deliver) and event.content == trace("ESMTPSA") + b"x\r\n"
