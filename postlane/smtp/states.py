"""The session's states and the events it hands its transport (session.py, engine.py).

Events are values the transport reads; ``Deliver`` is not frozen because one is made for
every message, and a frozen dataclass costs twice as much to make."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from postlane.smtp.contract import Confirm, Envelope


class State(enum.Enum):
    """Where the conversation is. ``awaits_work``: the session waits for the result of
    work it handed out and reads nothing meanwhile (pipelined lines wait in the buffer)."""

    CONNECTED = "greeted by us; no HELO/EHLO yet", False
    GREETED = "HELO/EHLO done; no mail transaction", False
    CONFIRMING = "MAIL FROM is with the handler, which looks outside before it answers", True
    MAIL = "MAIL FROM accepted", False
    RCPT = "at least one recipient accepted", False
    DATA = "354 sent; the message is arriving", False
    DELIVERING = "the message is with the handler", True
    AUTH_CHALLENGE = "334 sent; the client's answer is awaited", False
    AUTHENTICATING = "the credentials are with the handler", True
    TLS_PENDING = "220 Ready sent; the handshake is the transport's", True
    CLOSED = "nothing more is read, run or answered", False

    def __init__(self, meaning: str, awaits_work: bool) -> None:
        self.meaning = meaning
        self.awaits_work = awaits_work


@dataclass(slots=True)
class Deliver:
    """Hand the message to the handler's ``data``; feed its reply to ``delivered``. The
    content is unstuffed and starts with our ``Received:`` header."""

    envelope: Envelope
    content: bytes


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Check the credentials with the handler's ``authenticate``; feed the identity (None
    for wrong ones) to ``authenticated``, a TemporaryFailure to
    ``authentication_unavailable``."""

    login: str
    password: str = field(repr=False)


class StartTLS:
    """Upgrade the connection now (reading stays paused until then); feed the success to
    ``tls_started``."""


class Close:
    """Close the connection once the replies so far are written."""


START_TLS = StartTLS()
CLOSE = Close()
#: Confirm (contract.py) is the handler's own event: run its check, feed the answer to
#: ``confirmed``.
Event = Deliver | Authenticate | Confirm | StartTLS | Close

# The states as module globals, for the code that tests them on every line: looking a
# member up on its Enum class costs several times a global lookup (Python 3.11).
CONNECTED, GREETED, MAIL, RCPT = State.CONNECTED, State.GREETED, State.MAIL, State.RCPT
CONFIRMING = State.CONFIRMING
DATA, DELIVERING, AUTH_CHALLENGE = State.DATA, State.DELIVERING, State.AUTH_CHALLENGE
AUTHENTICATING, TLS_PENDING, CLOSED = State.AUTHENTICATING, State.TLS_PENDING, State.CLOSED
