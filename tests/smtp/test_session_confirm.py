"""A MAIL the handler must confirm outside first (contract.Confirm, issue 12, item 8: is
the session's token still good?), with bytes alone: the session waits for the answer,
the commands pipelined after MAIL wait with it, and the answer is MAIL's reply, in
order; a refusal leaves no transaction behind."""

from __future__ import annotations

from dataclasses import dataclass

from postlane.smtp.contract import Confirm, Session
from postlane.smtp.states import State
from tests.support.session_support import FakeHandler, authenticated, say, talk

REFUSED = "530 5.7.0 Authentication required: revoked"


async def _never() -> str | None:
    raise AssertionError("the session hands the check out, it never awaits it")


@dataclass
class ConfirmingHandler(FakeHandler):
    """Wants every MAIL confirmed."""

    def mail(self, session: Session, address: str) -> str | Confirm | None:
        self.calls.append(("mail", address))
        return Confirm(_never)


PIPELINED = b"MAIL FROM:<app@example.com>\r\nRCPT TO:<r@example.com>\r\nNOOP\r\n"


def test_mail_waits_for_the_confirmation_and_so_does_what_follows() -> None:
    session = authenticated(ConfirmingHandler())
    output, event = talk(session, PIPELINED)
    assert output == b"" and isinstance(event, Confirm)
    assert session.state is State.CONFIRMING and session.state.awaits_work
    assert talk(session, b"NOOP\r\n") == (b"", None)  # still waiting
    session.confirmed(None)
    assert say(session, b"") == (b"250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.0.0 OK\r\n"
                                 b"250 2.0.0 OK\r\n")
    assert session.state is State.RCPT


def test_a_refused_confirmation_is_mails_reply_and_leaves_no_transaction() -> None:
    handler = ConfirmingHandler()
    session = authenticated(handler)
    talk(session, PIPELINED)
    session.confirmed(REFUSED)
    assert say(session, b"") == (REFUSED.encode() + b"\r\n"
                                 b"503 5.5.1 Error: need MAIL command\r\n250 2.0.0 OK\r\n")
    assert session.state is State.GREETED and session.envelope is None
    assert handler.calls == [("mail", "app@example.com")]  # RCPT never reached it


def test_a_failed_confirmation_is_451_and_the_session_goes_on() -> None:
    session = authenticated(ConfirmingHandler())
    talk(session, PIPELINED)
    session.work_failed()
    assert say(session, b"") == (b"451 4.3.0 Internal error; please retry\r\n"
                                 b"503 5.5.1 Error: need MAIL command\r\n250 2.0.0 OK\r\n")


def test_a_confirmation_after_the_connection_is_gone_answers_nothing() -> None:
    session = authenticated(ConfirmingHandler())
    talk(session, PIPELINED)
    session.lost()
    session.confirmed(None)
    assert session.take_output() == b"" and session.state is State.CLOSED
