"""Who a submission session sends as, and whether it still may: one rule for sessions
that authenticated with a server token and for those on the trusted networks alike
(services.identity.smtp_sender: the token names a server whose SMTP is switched on),
asked at MAIL and again in the transaction that accepts each message.

The accept transaction's check is the exact one: once a server's deletion, its SMTP
switched off or its token gone has committed, no message sent with that token is stored
(and so none gets a 250), on sessions opened before the change too. The check at MAIL is
there so that such a session hears it before it sends its message. It reuses the latest
answer about the token when that was a yes less than FRESH_FOR ago (AUTH, every MAIL
check and every accept refresh it), and else asks the database, off the event loop, MAIL
waiting for the answer. Under load every MAIL finds a fresh yes and costs nothing (the
ingest benchmark submits thousands of messages a second as one trusted token); a session
that was quiet for longer pays one read. A no is never taken from memory, so a server
whose SMTP is switched back on sends again at once, on open sessions too.

The refusal is ``530 5.7.0 Authentication required`` (RFC 4954 6: for any command that
needs authentication when "authentication is not currently in force"), not the 535 that
answers an AUTH command with wrong credentials: nothing is wrong with what the client
sends now; the authentication it did earlier no longer stands. The session keeps its
identity, so a server whose SMTP is switched back on sends again on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from postlane.accept import Accepted, Submission
from postlane.domain.errors import PostlaneError
from postlane.domain.records import Identity
from postlane.services import identity as identities
from postlane.services.sending import accept_checked_many
from postlane.store import Transaction

#: How long an answer about a token counts at MAIL without asking the database again.
FRESH_FOR = 0.5

_WHY = ("no longer names a server, or that server's SMTP is switched off")
AUTH_REFUSED = ("530 5.7.0 Authentication required: the token this session authenticated "
                f"with {_WHY}")
#: What an AUTH client with the trusted networks' token would hear at MAIL too.
TRUSTED_REFUSED = f"530 5.7.0 Authentication required: the trusted networks' server token {_WHY}"


@dataclass(frozen=True, slots=True)
class Sender:
    """A session's identity: who it sends as (a token never moves to another server,
    and a server's delivery type is fixed at creation, so this cannot go stale: only
    whether the token may still send), the token whose standing is checked again, and
    whether it came from the trusted networks rather than AUTH."""

    identity: Identity
    token: str
    trusted: bool = False

    @property
    def refusal(self) -> str:
        return TRUSTED_REFUSED if self.trusted else AUTH_REFUSED


class SenderRefused(Exception):
    """The accept transaction found that the sender's token may no longer send."""


class Standings:
    """The latest answer about each token that sent here (may it send?) and when it was
    asked. Only tokens that authenticated are kept: a process sees few."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 fresh_for: float = FRESH_FOR) -> None:
        self.clock = clock
        self.fresh_for = fresh_for
        self._answers: dict[str, tuple[bool, float]] = {}

    def may_send(self, token: str) -> bool:
        """Whether a yes about the token is fresh; if not, the database must be asked."""
        answer = self._answers.get(token)
        return (answer is not None and answer[0]
                and self.clock() - answer[1] < self.fresh_for)

    def record(self, token: str, may_send: bool, asked_at: float) -> None:
        """An answer from a question asked at ``asked_at`` (before the reply came, so its
        age is never understated); an older one never replaces a newer."""
        known = self._answers.get(token)
        if known is None or known[1] <= asked_at:
            self._answers[token] = (may_send, asked_at)


def accept_one(token: str, submission: Submission, conn: Transaction) -> Accepted:
    """Accept one message if its sender's token may still send (the group commit's
    item-by-item fallback)."""
    result = accept_many(conn, [(token, submission)])[0]
    if isinstance(result, Exception):
        raise result
    return result


def accept_many(conn: Transaction, items: list[tuple[str, Submission]]
                ) -> list[Accepted | PostlaneError | SenderRefused]:
    """A group commit's SMTP messages: each distinct token is checked once, in the
    transaction that stores them; the messages of tokens that may send are accepted
    together (services.sending), the others are refused."""
    standing = {token: identities.smtp_sender(conn, token) is not None
                for token in {token for token, _ in items}}
    stored = iter(accept_checked_many(conn, [sub for token, sub in items if standing[token]]))
    return [next(stored) if standing[token] else SenderRefused() for token, _ in items]
