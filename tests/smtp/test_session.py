"""The sans-I/O SMTP session (postlane/smtp/session.py) with bytes alone, no sockets:
greeting, HELO/EHLO, syntax and line limits, the mail transaction, DATA (transparency,
smuggling, size), the trace header, pipelining, end of input and closing (the deadlines:
test_session_deadlines.py). Exact reply bytes and events throughout."""

from __future__ import annotations

import pytest

from postlane.smtp.session import MAX_COMMAND_LINE, MAX_PIPELINED, SessionMachine
from postlane.smtp.states import CLOSE, Deliver, State
from tests.support.session_support import (
    PEER,
    FakeHandler,
    authenticated,
    in_transaction,
    machine,
    say,
    talk,
    trace,
)

EHLO_CLEAR = (b"250-mx.postlane.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
              b"250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n"
              b"250-AUTH PLAIN LOGIN\r\n250 HELP\r\n")


def test_the_greeting_comes_first_and_the_handler_sees_the_client() -> None:
    handler = FakeHandler()
    session = machine(handler)
    assert session.state is State.CONNECTED
    assert [s.peer for s in handler.sessions] == [PEER] and handler.sessions[0] is session.session


def test_ehlo_lists_the_extensions_and_helo_does_not() -> None:
    session = machine()
    assert say(session, b"EHLO client.example\r\n") == EHLO_CLEAR
    assert (session.state, session.session.host_name, session.session.extended) == (
        State.GREETED, "client.example", True)
    assert say(session, b"HELO other.example\r\n") == b"250 mx.postlane.test\r\n"
    assert (session.session.host_name, session.session.extended) == ("other.example", False)
    assert say(session, b"EHLO\r\nhelo \r\n") == (b"501 5.5.4 Syntax: EHLO hostname\r\n"
                                                 b"501 5.5.4 Syntax: HELO hostname\r\n")


def test_ehlo_offers_auth_only_where_it_may_be_used() -> None:
    """AUTH over TLS only: not in clear text. A bounce MX: no AUTH, and no STARTTLS
    without a certificate."""
    secure_only = machine(auth_require_tls=True)
    assert b"AUTH" not in say(secure_only, b"EHLO c\r\n")
    mx = machine(auth=False, tls_context=None)
    assert say(mx, b"EHLO c\r\n") == (
        b"250-mx.postlane.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
        b"250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 HELP\r\n")


def test_lines_that_are_not_commands() -> None:
    session = machine()
    assert say(session, b"\r\n \r\n\xff\xfe\r\nNOOP \xff\r\n") == (
        b"500 5.5.2 Error: bad syntax\r\n" * 4)
    assert say(session, b"BOGUS x\r\nxyzzy\r\n") == (
        b'500 5.5.2 Error: command "BOGUS" not recognized\r\n'
        b'500 5.5.2 Error: command "XYZZY" not recognized\r\n')
    assert say(session, b"BO\x1bGUS\r\n") == (
        b'500 5.5.2 Error: command "BO?GUS" not recognized\r\n')
    # Commands we know of and do not do are not "unknown": they do not count.
    assert say(session, b"EXPN list\r\nTURN\r\nETRN x\r\nBDAT 10\r\n") == (
        b"502 5.5.1 EXPN not implemented\r\n502 5.5.1 TURN not implemented\r\n"
        b"502 5.5.1 ETRN not implemented\r\n502 5.5.1 BDAT not implemented\r\n")


def test_the_fifth_unknown_command_ends_the_session() -> None:
    session = machine()
    assert say(session, b"ONE\r\nTWO\r\nTHREE\r\nFOUR\r\n").count(b"500 5.5.2") == 4
    output, event = talk(session, b"FIVE\r\nNOOP\r\n")
    assert output == b"502 5.5.1 Too many unrecognized commands, goodbye.\r\n"
    assert event is CLOSE and session.state is State.CLOSED


def test_commands_are_case_insensitive_and_bare_line_feeds_end_them() -> None:
    session = machine()
    assert say(session, b"noop\nNoOp\r\nrset\n") == b"250 2.0.0 OK\r\n" * 3


@pytest.mark.parametrize("pieces", [1, 7, 4096])
def test_an_overlong_command_line_gets_one_refusal(pieces: int) -> None:
    """At most MAX_COMMAND_LINE octets with the CRLF; a longer line is skipped (none of it
    kept however it arrives) and refused once it ends."""
    session = machine()
    longest = b"NOOP " + b"x" * (MAX_COMMAND_LINE - 7) + b"\r\n"
    assert len(longest) == MAX_COMMAND_LINE and say(session, longest) == b"250 2.0.0 OK\r\n"
    line = b"NOOP " + b"x" * 100_000
    step = len(line) // pieces + 1
    for start in range(0, len(line), step):
        assert say(session, line[start:start + step]) == b""
        assert not session.backlogged
    assert say(session, b"\r\nNOOP\r\n") == (b"500 5.5.2 Command line too long\r\n"
                                             b"250 2.0.0 OK\r\n")
    assert say(session, b"NOOP " + b"x" * (MAX_COMMAND_LINE - 6) + b"\r\n") == (
        b"500 5.5.2 Command line too long\r\n")


def test_commands_that_need_the_greeting_first() -> None:
    session = machine()
    assert say(session, b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
               ) == b"503 5.5.1 Error: send HELO first\r\n" * 3
    assert session.state is State.CONNECTED


def test_auth_is_required_before_mail_unless_the_handler_trusts_the_client() -> None:
    session = machine()
    say(session, b"EHLO c\r\n")
    assert say(session, b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
               ) == b"530 5.7.0 Authentication required\r\n" * 3
    trusted = machine(FakeHandler(trusted="trusted-server"))
    say(trusted, b"EHLO c\r\n")
    assert say(trusted, b"MAIL FROM:<a@example.com>\r\n") == b"250 2.1.0 OK\r\n"
    mx = machine(auth=False)
    say(mx, b"HELO c\r\n")
    assert say(mx, b"MAIL FROM:<>\r\n") == b"250 2.1.0 OK\r\n"
    assert mx.envelope is not None and mx.envelope.mail_from == ""


def test_mail_opens_a_transaction_once() -> None:
    handler = FakeHandler()
    session = authenticated(handler)
    assert say(session, b"MAIL FROM:<app@example.com> SIZE=100 BODY=8BITMIME SMTPUTF8 AUTH=<>"
               b"\r\n") == b"250 2.1.0 OK\r\n"
    assert session.state is State.MAIL and handler.calls == [("mail", "app@example.com")]
    assert say(session, b"MAIL FROM:<other@example.com>\r\n") == (
        b"503 5.5.1 Error: nested MAIL command\r\n")
    assert session.envelope is not None and session.envelope.mail_from == "app@example.com"


@pytest.mark.parametrize(("line", "reply"), [
    (b"MAIL TO:<a@example.com>", b"501 5.5.4 Syntax: MAIL FROM:<address>"),
    (b"MAIL FROM:<a@example.com", b"501 5.5.4 Syntax error in address"),
    (b"MAIL FROM:<a@example.com> SIZE=ten", b"501 5.5.4 Syntax: SIZE=<number>"),
    (b"MAIL FROM:<a@example.com> SIZE=1001",
     b"552 5.3.4 Message size exceeds fixed maximum message size"),
    (b"MAIL FROM:<a@example.com> BODY=BINARYMIME", b"501 5.5.4 Syntax: BODY=7BIT|8BITMIME"),
    (b"MAIL FROM:<a@example.com> RET=HDRS",
     b"555 5.5.4 MAIL FROM parameter RET not recognized"),
    (b"MAIL FROM:<refused@example.com>", b"553 5.1.7 No???X-Forged: 1"),
])
def test_mail_refusals_leave_no_transaction(line: bytes, reply: bytes) -> None:
    """A handler's refusal is one reply line: a CR or LF in it cannot forge another."""
    session = authenticated(FakeHandler(refusals={
        "refused@example.com": "553 5.1.7 No\r\n\x0bX-Forged: 1"}))
    assert say(session, line + b"\r\n") == reply + b"\r\n"
    assert session.state is State.GREETED and session.envelope is None


def test_rcpt_collects_recipients_in_a_transaction() -> None:
    handler = FakeHandler(refusals={"no@example.com": "550 5.7.1 Relay access denied"})
    session = authenticated(handler)
    assert say(session, b"RCPT TO:<a@example.com>\r\n") == b"503 5.5.1 Error: need MAIL command\r\n"
    say(session, b"MAIL FROM:<app@example.com>\r\n")
    assert say(session, b"RCPT TO:<a@example.com>\r\nRCPT TO:<no@example.com>\r\n"
               b"RCPT TO:<b@example.com> NOTIFY=NEVER\r\nRCPT FROM:<b@example.com>\r\n"
               b"RCPT TO:b@example.com\r\n") == (
        b"250 2.1.5 OK\r\n550 5.7.1 Relay access denied\r\n"
        b"555 5.5.4 RCPT TO parameters not recognized\r\n501 5.5.4 Syntax: RCPT TO:<address>\r\n"
        b"250 2.1.5 OK\r\n")
    assert session.state is State.RCPT and session.envelope is not None
    assert session.envelope.rcpt_tos == ["a@example.com", "b@example.com"]


def test_data_needs_a_recipient_and_no_argument() -> None:
    session = authenticated()
    say(session, b"MAIL FROM:<app@example.com>\r\n")
    assert say(session, b"DATA\r\n") == b"503 5.5.1 Error: need RCPT command\r\n"
    say(session, b"RCPT TO:<rcpt@example.com>\r\n")
    assert say(session, b"DATA now\r\n") == b"501 5.5.4 Syntax: DATA\r\n"
    assert say(session, b"DATA\r\n") == b"354 End data with <CR><LF>.<CR><LF>\r\n"
    assert session.state is State.DATA


def _deliver(session: SessionMachine, data: bytes) -> Deliver:
    output, event = talk(session, data)
    assert output == b"" and isinstance(event, Deliver), (output, event)
    return event


def test_a_message_is_handed_out_with_its_trace_header_and_unstuffed() -> None:
    """RFC 5321 4.5.2: a leading dot is doubled on the wire and undone here. Only
    CRLF.CRLF ends the data: a bare LF around a dot (SMTP smuggling) is content."""
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    original = (b".first\r\nSubject: dots\r\n\r\n.hidden\r\n..two\r\n. \r\nsmuggle\n.\nstill"
                b"\r\n.\nmore\n.\r\nend\r\n")
    deliver = _deliver(session, original.replace(b"\r\n.", b"\r\n..").replace(b".f", b"..f", 1)
                       + b".\r\n")
    assert deliver.content == trace("ESMTPA") + original
    assert deliver.envelope.mail_from == "app@example.com"
    assert deliver.envelope.rcpt_tos == ["rcpt@example.com"]
    assert session.state is State.DELIVERING and session.envelope is None
    session.delivered("250 2.0.0 Ok: queued as 42")
    assert say(session, b"") == b"250 2.0.0 Ok: queued as 42\r\n"
    assert session.state is State.GREETED


def test_the_end_of_data_may_arrive_a_byte_at_a_time() -> None:
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    for byte in b"Subject: split\r\n\r\nbody\r\n.\r":
        assert say(session, bytes([byte])) == b""
    assert _deliver(session, b"\n").content == trace("ESMTPA") + b"Subject: split\r\n\r\nbody\r\n"


def test_an_empty_message_is_only_the_trace_header() -> None:
    session = authenticated()
    in_transaction(session, "a@example.com", "b@example.com")
    say(session, b"DATA\r\n")
    assert _deliver(session, b".\r\n").content == trace("ESMTPA", rcpt=None)


def test_the_size_limit_counts_what_the_client_sent() -> None:
    """1000 bytes pass (the trace header comes on top), 1001 do not; an oversized message
    is refused once it has all arrived, without being kept, and the session goes on."""
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    body = b"x" * 998 + b"\r\n"
    assert len(_deliver(session, body + b".\r\n").content) == len(trace("ESMTPA")) + 1000
    session.delivered("250 2.0.0 Ok")
    say(session, b"")
    in_transaction(session, "rcpt@example.com")
    assert say(session, b"DATA\r\nx" + body + b".\r\nNOOP\r\n") == (
        b"354 End data with <CR><LF>.<CR><LF>\r\n552 5.3.4 Message too big for system\r\n"
        b"250 2.0.0 OK\r\n")
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    for _ in range(300):  # 300 KB in pieces: never more than the limit kept
        assert say(session, body) == b""
    assert say(session, b".\r\n") == b"552 5.3.4 Message too big for system\r\n"
    assert session.state is State.GREETED


@pytest.mark.parametrize(("greeting", "protocol"), [(b"HELO", "SMTP"), (b"EHLO", "ESMTP")])
def test_the_trace_header_says_how_the_client_came(greeting: bytes, protocol: str) -> None:
    """A trusted client did not use AUTH: no A (RFC 3848), and no identity anywhere."""
    session = machine(FakeHandler(trusted=("server", "token-secret")))
    say(session, greeting + b" [192.0.2.1]\r\n")
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    content = _deliver(session, b"x\r\n.\r\n").content
    assert content == trace(protocol, helo="[192.0.2.1]") + b"x\r\n"
    assert b"token" not in content


def test_rset_and_a_new_greeting_end_the_transaction() -> None:
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    assert say(session, b"RSET\r\nDATA\r\n") == (b"250 2.0.0 OK\r\n"
                                                b"503 5.5.1 Error: need RCPT command\r\n")
    in_transaction(session, "rcpt@example.com")
    assert say(session, b"EHLO again\r\nRCPT TO:<x@example.com>\r\n").endswith(
        b"250 HELP\r\n503 5.5.1 Error: need MAIL command\r\n")
    fresh = machine()
    assert say(fresh, b"RSET\r\n") == b"250 2.0.0 OK\r\n" and fresh.state is State.CONNECTED


def test_noop_vrfy_help() -> None:
    session = machine()
    assert say(session, b"NOOP\r\nVRFY\r\nVRFY someone\r\nHELP\r\nHELP me\r\n") == (
        b"250 2.0.0 OK\r\n501 5.5.4 Syntax: VRFY <address>\r\n"
        b"252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n"
        + b"214 2.0.0 Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET "
        b"STARTTLS VRFY\r\n" * 2)


def test_pipelined_commands_wait_behind_a_message() -> None:
    """What comes after the end of DATA is answered only once the message is, in order;
    a client sending far ahead meanwhile is backlogged (the transport stops reading)."""
    session = authenticated()
    output, event = talk(session, b"MAIL FROM:<app@example.com>\r\nRCPT TO:<rcpt@example.com>"
                         b"\r\nDATA\r\nSubject: one\r\n\r\n.\r\nMAIL FROM:<app@example.com>"
                         b"\r\nNOOP\r\n")
    assert output == b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    assert isinstance(event, Deliver)
    assert say(session, b"NOOP\r\n") == b"" and session.process() is None
    assert not session.backlogged
    session.receive(b"NOOP\r\n" * (MAX_PIPELINED // 6))
    assert session.backlogged
    session.delivered("250 2.0.0 Ok: queued as 1")
    assert not session.backlogged
    output = say(session, b"")
    assert output.startswith(b"250 2.0.0 Ok: queued as 1\r\n250 2.1.0 OK\r\n250 2.0.0 OK\r\n")
    assert output.count(b"\r\n") == 3 + 1 + MAX_PIPELINED // 6


def test_a_failing_handler_gets_451_and_the_session_goes_on() -> None:
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    _deliver(session, b"x\r\n.\r\n")
    session.work_failed()
    assert say(session, b"NOOP\r\n") == (b"451 4.3.0 Internal error; please retry\r\n"
                                         b"250 2.0.0 OK\r\n")


def test_nothing_runs_after_quit() -> None:
    handler = FakeHandler()
    session = authenticated(handler)
    output, event = talk(session, b"QUIT\r\nMAIL FROM:<app@example.com>\r\n")
    assert (output, event, session.state) == (b"221 2.0.0 Bye\r\n", CLOSE, State.CLOSED)
    assert talk(session, b"NOOP\r\n") == (b"", CLOSE)
    assert handler.calls == []


def test_end_of_input_answers_what_came_then_closes() -> None:
    session = authenticated()
    session.receive(b"NOOP\r\nQUIT\r\n")
    session.end_of_input()
    assert (session.process(), session.take_output()) == (CLOSE, b"250 2.0.0 OK\r\n"
                                                          b"221 2.0.0 Bye\r\n")
    quiet = authenticated()
    quiet.end_of_input()
    assert talk(quiet, b"NOOP") == (b"", CLOSE)  # an unfinished line is not a command


def test_end_of_input_inside_data_or_delivery() -> None:
    """A message cut off is not handed out; one handed out is still answered."""
    cut = authenticated()
    in_transaction(cut, "rcpt@example.com")
    say(cut, b"DATA\r\nSubject: half\r\n")
    cut.end_of_input()
    assert talk(cut, b"") == (b"", CLOSE)
    whole = authenticated()
    in_transaction(whole, "rcpt@example.com")
    say(whole, b"DATA\r\n")
    _deliver(whole, b"x\r\n.\r\nNOOP\r\n")
    whole.end_of_input()
    assert whole.process() is None
    whole.delivered("250 2.0.0 Ok")
    assert (whole.process(), whole.take_output()) == (CLOSE, b"250 2.0.0 Ok\r\n"
                                                      b"250 2.0.0 OK\r\n")


def test_a_lost_connection_answers_nothing_more() -> None:
    session = authenticated()
    in_transaction(session, "rcpt@example.com")
    say(session, b"DATA\r\n")
    _deliver(session, b"x\r\n.\r\nNOOP\r\n")
    session.lost()
    session.delivered("250 2.0.0 Ok")
    assert (session.state, session.take_output(), session.process()) == (State.CLOSED, b"",
                                                                          CLOSE)
