"""The submission session's rules: authenticate with a server token (or come from a
trusted network), limit recipients, accept on DATA. Who a token sends as, and whether it
still may, is decided in services.identity, for AUTH and trusted clients alike, at MAIL
and in the accept transaction (senders.py).

The 250 reply is sent only after the accept transaction has committed, and carries the
MessageID; anything that stops the commit is a 4xx, so the client keeps the message.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import cast

from postlane.accept import Accepted, Submission
from postlane.domain import addresses
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.services import identity as identities
from postlane.smtp import parse, refusals, senders
from postlane.smtp.contract import Confirm
from postlane.smtp.engine import Envelope, Session, TemporaryFailure
from postlane.smtp.parse import MalformedMessage, to_submission
from postlane.smtp.senders import Sender, SenderRefused, Standings
from postlane.smtp.trusted import TrustedPeers
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

#: Nothing was stored: the client keeps the message and retries.
TEMPORARY_FAILURE = refusals.TEMPORARY_FAILURE
#: MAIL could not check the sender: the message could not be stored either.
CHECK_UNAVAILABLE = "451 4.3.0 Temporary failure checking the sender; please retry"


class SubmissionHandler:
    def __init__(self, db: Database, committer: GroupCommitter, max_recipients: int,
                 trusted: TrustedPeers | None = None,
                 on_accepted: Callable[[], None] | None = None,
                 standings: Standings | None = None) -> None:
        self.db = db
        self.committer = committer
        self.max_recipients = max_recipients
        self.trusted = trusted
        self.on_accepted = on_accepted
        self.standings = standings or Standings()

    def connected(self, session: Session) -> None:
        """Clients in the trusted networks need no AUTH; whether their token may still
        send is checked as for AUTH clients (senders.py)."""
        if self.trusted is not None and self.trusted.covers(session.peer):
            session.identity = self.trusted.sender

    async def authenticate(self, login: str, password: str) -> Sender | None:
        """A server token as both user name and password. The lookup runs on the
        database's thread pool: on the event loop it would stall every session of the
        process while it runs (for as long as a connection attempt takes when the
        database is unreachable)."""
        if login != password:
            return None
        asked_at = self.standings.clock()
        try:
            identity = await self.db.run(identities.smtp_identity, self.db, login)
        except DatabaseUnavailable as exc:
            log.warning("token lookup failed, the database is unavailable: %s", exc)
            raise TemporaryFailure from exc
        except Exception as exc:  # cannot decide now either: the client retries later
            log.exception("token lookup failed")
            raise TemporaryFailure from exc
        if identity is None:
            return None
        self.standings.record(login, True, asked_at)
        return Sender(identity, login)

    def mail(self, session: Session, address: str) -> str | Confirm | None:
        if address and not addresses.is_valid(address):
            return "553 5.1.7 Invalid sender address"
        sender = cast(Sender, session.identity)
        if self.standings.may_send(sender.token):
            return None
        return Confirm(functools.partial(self._confirm, sender))

    async def _confirm(self, sender: Sender) -> str | None:
        """MAIL's check when no fresh yes about the token is known (senders.py)."""
        asked_at = self.standings.clock()
        try:
            identity = await self.db.run(identities.smtp_identity, self.db, sender.token)
        except Exception as exc:  # DatabaseUnavailable among them: nothing could be stored
            log.warning("sender check failed (answering 451): %s", exc)
            return CHECK_UNAVAILABLE
        self.standings.record(sender.token, identity is not None, asked_at)
        return None if identity is not None else sender.refusal

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self.max_recipients} a message)"
        if not addresses.is_valid(address):
            return "553 5.1.3 Invalid recipient address"
        return None

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str:
        sender = cast(Sender, session.identity)
        try:
            submission = await _read(content, envelope, sender)
        except MalformedMessage as exc:
            return f"554 5.6.0 {exc.summary}: {exc}"[:500]
        try:
            accepted = await self._commit(sender, submission)
        except SenderRefused:
            return sender.refusal
        except PostlaneError as exc:
            if isinstance(exc, DatabaseUnavailable):
                log.warning("accept failed, the database is unavailable (answering 451): %s",
                            exc)
            return refusals.reply(exc)
        except Exception:
            log.exception("accept failed; answering 451 so the client retries")
            return TEMPORARY_FAILURE
        if self.on_accepted is not None:
            self.on_accepted()
        return f"250 2.0.0 Ok: queued as {accepted.message_id}"

    async def _commit(self, sender: Sender, submission: Submission) -> Accepted:
        """Accept in the next group commit, where the sender's token is checked; what the
        check found is the token's latest standing."""
        asked_at = self.standings.clock()
        try:
            accepted = await self.committer.submit(
                functools.partial(senders.accept_one, sender.token, submission),
                many=senders.accept_many, payload=(sender.token, submission))
        except SenderRefused:
            self.standings.record(sender.token, False, asked_at)
            raise
        self.standings.record(sender.token, True, asked_at)
        return accepted


async def _read(content: bytes, envelope: Envelope, sender: Sender) -> Submission:
    """Parse the message: here if it is light, else on a thread (parse.py), so that a
    message with 200,000 headers or hundreds of parts never holds up the event loop."""
    args = (content, envelope.mail_from, list(envelope.rcpt_tos),
            sender.identity.server_id, sender.identity.delivery_type)
    if parse.is_light(content):
        return to_submission(*args)
    return await asyncio.to_thread(to_submission, *args)
