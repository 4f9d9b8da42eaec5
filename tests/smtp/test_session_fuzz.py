"""Hypothesis over the sans-I/O SMTP session: however the same bytes are cut into
packets, the session answers them the same way; every reply line is well formed; and the
handler's work is asked for in the same order. (tests/e2e/test_fuzz_smtp.py fuzzes the
listener over sockets.)"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postlane.smtp.session import SessionMachine
from postlane.smtp.states import Authenticate, Deliver, Event
from tests.support.session_support import PLAIN_TOK, machine
from tests.support.smtp_support import REPLY_LINE

LINES = st.sampled_from([
    b"EHLO c.example", b"HELO c.example", b"MAIL FROM:<a@example.com>", b"MAIL FROM:<>",
    b"RCPT TO:<r@example.com>", b"RCPT TO:<s@example.com>", b"DATA", b"RSET", b"NOOP",
    b"VRFY x", b"HELP", b"AUTH PLAIN " + PLAIN_TOK, b"AUTH LOGIN", b"dG9r", b"*", b"BOGUS",
    b"Subject: hi", b"", b".", b"..dot", b"x" * 3000, b"QUIT", b"MAIL FROM:<a@b> SIZE=5000",
    b"\xff\xfe"])  # no STARTTLS: what follows it in the same packet is dropped, by design
ENDINGS = st.sampled_from([b"\r\n", b"\n"])


BODY = st.lists(st.sampled_from([b"Subject: hi", b"", b"..dot", b"x" * 1200, b"QUIT"]),
                max_size=4)
TRANSACTION = st.builds(
    lambda rcpts, body, end: [b"MAIL FROM:<a@example.com>", *rcpts, b"DATA", *body, *end],
    st.lists(st.sampled_from([b"RCPT TO:<r@example.com>", b"RCPT TO:<s@example.com>"]),
             max_size=2),
    BODY, st.sampled_from([[b"."], []]))
MOVES = st.one_of(
    st.sampled_from([[b"EHLO c.example"], [b"AUTH PLAIN " + PLAIN_TOK],
                     [b"AUTH LOGIN", b"dG9r", b"dG9r"], [b"AUTH PLAIN", b"*"],
                     [b"AUTH PLAIN " + PLAIN_TOK[:-2]]]),
    TRANSACTION, LINES.map(lambda line: [line]))


@st.composite
def conversation(draw: st.DrawFn) -> bytes:
    """Mostly sensible moves (a greeting, AUTH, whole transactions) among stray lines."""
    opening = draw(st.sampled_from([[], [b"EHLO c.example", b"AUTH PLAIN " + PLAIN_TOK]]))
    lines = [*opening, *(line for move in draw(st.lists(MOVES, max_size=12)) for line in move)]
    return b"".join(line + draw(ENDINGS) for line in lines)


def run(data: bytes, cuts: list[int]) -> tuple[bytes, list[str]]:
    """Feed ``data`` in pieces cut at ``cuts``; all output and the work asked for, with
    every piece of work answered at once (an identity for the right token, a 250)."""
    session = machine()
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    output, work = b"", []
    for piece in pieces:
        event = session.feed(piece)
        while event is not None:
            work.append(type(event).__name__)
            event = answer(session, event)
        output += session.take_output()
        if work and work[-1] == "Close":
            break  # the transport closes: nothing more is fed
    return output, work


def answer(session: SessionMachine, event: Event) -> Event | None:
    if isinstance(event, Deliver):
        session.delivered("250 2.0.0 Ok")
    elif isinstance(event, Authenticate):
        session.authenticated(None if event.password != "tok" else "identity")
    else:
        return None  # Close
    return session.process()


@settings(max_examples=300, deadline=None)
@given(data=conversation(), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_the_packets_do_not_change_the_conversation(data: bytes, cuts: list[int]) -> None:
    whole = run(data, [])
    split = run(data, sorted({c % (len(data) + 1) for c in cuts}))
    assert split == whole
    output = whole[0]
    assert output.endswith(b"\r\n") or output == b""
    for line in output.split(b"\r\n")[:-1]:
        assert REPLY_LINE.match(line) and len(line) <= 510, line
