"""What each SMTP command does to the session (RFC 5321, RFC 3207 STARTTLS, RFC 4954
AUTH): a function per verb that checks the state, writes the reply and moves the state on.
An event is returned for work that has to be done outside (AUTH's check, STARTTLS, QUIT's
close); DATA's content is read by the session itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from postlane.smtp import replies, syntax
from postlane.smtp.auth import Credentials, Exchange
from postlane.smtp.contract import Confirm, Envelope
from postlane.smtp.states import (
    AUTH_CHALLENGE,
    AUTHENTICATING,
    CONFIRMING,
    CONNECTED,
    GREETED,
    MAIL,
    RCPT,
    START_TLS,
    Authenticate,
    Event,
)

if TYPE_CHECKING:
    from postlane.smtp.session import SessionMachine

MAX_BOGUS_COMMANDS = 5
_NOT_IMPLEMENTED = frozenset({"EXPN", "TURN", "ETRN", "BDAT"})


def unknown(machine: SessionMachine, verb: str) -> Event | None:
    """RFC 5321 4.2.4: 502 for commands we know of and do not do, 500 for the rest; the
    fifth unknown one ends the session (a client that speaks something else)."""
    if verb in _NOT_IMPLEMENTED:
        machine.output.append(replies.not_implemented(verb))
        return None
    machine.unknown_commands += 1
    if machine.unknown_commands >= MAX_BOGUS_COMMANDS:
        machine.output.append(replies.TOO_MANY_UNKNOWN)
        return machine.close()
    machine.output.append(replies.unknown_command(verb))
    return None


def helo(machine: SessionMachine, arg: str) -> None:
    _greet(machine, arg, extended=False)


def ehlo(machine: SessionMachine, arg: str) -> None:
    _greet(machine, arg, extended=True)


def _greet(machine: SessionMachine, arg: str, extended: bool) -> None:
    if not arg:
        machine.output.append(replies.greeting_syntax(extended))
        return
    session, banners = machine.session, machine.banners
    session.host_name, session.extended = arg, extended
    machine.envelope, machine.state = None, GREETED
    if not extended:
        machine.output.append(banners.helo)
    else:
        machine.output.append(banners.ehlo_tls if session.tls else banners.ehlo_clear)


def _transaction_refusal(machine: SessionMachine) -> bytes | None:
    """HELO/EHLO first, then AUTH where it is required."""
    if machine.state is CONNECTED:
        return replies.HELO_FIRST
    if machine.options.auth and machine.session.identity is None:
        return replies.AUTH_REQUIRED
    return None


def mail(machine: SessionMachine, arg: str) -> Confirm | None:
    """The handler may want to confirm the sender outside first (``Confirm``): the
    envelope is begun and the reply waits for its answer (``confirmed``)."""
    refusal = _transaction_refusal(machine)
    if refusal is None and machine.state is not GREETED:
        refusal = replies.NESTED_MAIL
    if refusal is not None:
        machine.output.append(refusal)
        return None
    path = _read_path(machine, arg, "FROM")
    if path is None:
        return None
    problem = None
    if path.params:
        problem = syntax.mail_parameter_problem(path.params, machine.options.max_message_bytes)
    answer = (problem if problem is not None
              else machine.handler.mail(machine.session, path.address))
    if isinstance(answer, str):
        machine.output.append(replies.wire(answer))
        return None
    machine.envelope = Envelope(path.address)
    if answer is not None:
        machine.state = CONFIRMING
        return answer
    machine.state = MAIL
    machine.output.append(replies.SENDER_OK)
    return None


def _read_path(machine: SessionMachine, arg: str, keyword: str) -> syntax.Path | None:
    """The path of a MAIL or RCPT, or None once its 501 is written."""
    try:
        return syntax.parse_path(arg, keyword)
    except syntax.SyntaxProblem as exc:
        machine.output.append(replies.wire(f"501 5.5.4 {exc}"))
        return None


def rcpt(machine: SessionMachine, arg: str) -> None:
    refusal = _transaction_refusal(machine)
    if refusal is None and machine.state is GREETED:
        refusal = replies.NEED_MAIL
    if refusal is not None:
        machine.output.append(refusal)
        return
    envelope = machine.envelope
    assert envelope is not None
    path = _read_path(machine, arg, "TO")
    if path is None:
        return
    if path.params:
        machine.output.append(replies.RCPT_PARAMS)
        return
    problem = machine.handler.rcpt(machine.session, envelope, path.address)
    if problem is not None:
        machine.output.append(replies.wire(problem))
        return
    envelope.rcpt_tos.append(path.address)
    machine.state = RCPT
    machine.output.append(replies.RECIPIENT_OK)


def data(machine: SessionMachine, arg: str) -> None:
    refusal = _transaction_refusal(machine)
    if refusal is None and machine.state is not RCPT:
        refusal = replies.NEED_RCPT
    if refusal is None and arg:
        refusal = replies.DATA_SYNTAX
    if refusal is not None:
        machine.output.append(refusal)
        return
    machine.output.append(replies.START_DATA)
    machine.begin_data()


def rset(machine: SessionMachine, arg: str) -> None:
    if machine.state is MAIL or machine.state is RCPT:
        machine.state = GREETED
    machine.envelope = None
    machine.output.append(replies.OK)


def noop(machine: SessionMachine, arg: str) -> None:
    machine.output.append(replies.OK)


def quit_(machine: SessionMachine, arg: str) -> Event:
    """Commands pipelined after QUIT are not run: the client was told 221."""
    machine.output.append(replies.BYE)
    return machine.close()


def vrfy(machine: SessionMachine, arg: str) -> None:
    machine.output.append(replies.VRFY_ANSWER if arg else replies.VRFY_SYNTAX)


def help_(machine: SessionMachine, arg: str) -> None:
    machine.output.append(replies.HELP)


def starttls(machine: SessionMachine, arg: str) -> Event | None:
    if arg:
        refusal = replies.TLS_SYNTAX
    elif machine.options.tls_context is None:
        refusal = replies.TLS_UNAVAILABLE
    elif machine.session.tls:
        refusal = replies.TLS_ALREADY
    else:
        machine.output.append(replies.TLS_READY)
        machine.begin_tls()
        return START_TLS
    machine.output.append(refusal)
    return None


def auth(machine: SessionMachine, arg: str) -> Event | None:
    refusal = _auth_refusal(machine)
    mechanism, _, initial = arg.partition(" ")
    mechanism = mechanism.upper()
    if refusal is None and mechanism not in replies.AUTH_MECHANISMS:
        refusal = replies.AUTH_UNKNOWN_MECHANISM
    if refusal is not None:
        machine.output.append(refusal)
        return None
    machine.exchange = Exchange(mechanism)
    try:
        return _auth_next(machine, machine.exchange.start(initial.strip()))
    except syntax.AuthProblem as exc:
        auth_abandoned(machine, replies.wire(str(exc)))
        return None


def _auth_refusal(machine: SessionMachine) -> bytes | None:
    session, options = machine.session, machine.options
    if not options.auth:
        return replies.AUTH_UNAVAILABLE
    if not session.extended:
        return replies.AUTH_EHLO_FIRST
    if session.identity is not None:
        return replies.AUTH_ALREADY
    if machine.envelope is not None:
        return replies.AUTH_IN_TRANSACTION
    if options.auth_require_tls and not session.tls:
        return replies.AUTH_NEEDS_TLS
    return None


def auth_answer(machine: SessionMachine, line: bytes | bytearray) -> Event | None:
    """The client's line after a 334 challenge."""
    exchange = machine.exchange
    assert exchange is not None
    try:
        return _auth_next(machine, exchange.answer(line))
    except syntax.AuthProblem as exc:
        auth_abandoned(machine, replies.wire(str(exc)))
        return None


def _auth_next(machine: SessionMachine, step: str | Credentials) -> Event | None:
    if isinstance(step, str):
        machine.state = AUTH_CHALLENGE
        machine.output.append(replies.challenge(step))
        return None
    machine.exchange, machine.state = None, AUTHENTICATING
    return Authenticate(step.login, step.password)


def auth_abandoned(machine: SessionMachine, reply: bytes) -> None:
    machine.exchange, machine.state = None, GREETED
    machine.output.append(reply)


COMMANDS: dict[str, Callable[[SessionMachine, str], Event | None]] = {
    "HELO": helo, "EHLO": ehlo, "MAIL": mail, "RCPT": rcpt, "DATA": data, "RSET": rset,
    "NOOP": noop, "QUIT": quit_, "VRFY": vrfy, "HELP": help_, "STARTTLS": starttls,
    "AUTH": auth,
}
