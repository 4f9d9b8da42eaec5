"""The submission session's rules: authenticate with a server token (or come from a
trusted network), limit recipients, accept on DATA. Who a token sends as is decided in
services.identity, for AUTH and trusted clients alike.

The 250 reply is sent only after the accept transaction has committed, and carries the
MessageID; anything that stops the commit is a 4xx, so the client keeps the message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, cast

from postlane.accept import Accepted, Submission
from postlane.domain import addresses
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.domain.records import Identity
from postlane.services import identity as identities
from postlane.services.sending import accept_checked, accept_checked_many
from postlane.smtp import refusals
from postlane.smtp.engine import Envelope, Session, TemporaryFailure
from postlane.smtp.parse import MalformedMessage, to_submission
from postlane.smtp.trusted import TrustedPeers, TrustedSender
from postlane.store import Transaction
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

#: Nothing was stored: the client keeps the message and retries.
TEMPORARY_FAILURE = refusals.TEMPORARY_FAILURE
#: A trusted client whose token may no longer send: what an AUTH client with that token
#: hears at MAIL (after its AUTH failed), with the reason.
TRUSTED_REFUSED = ("530 5.7.0 Authentication required: the trusted networks' server token "
                   "no longer names a server, or that server's SMTP is switched off")


class SenderRefused(Exception):
    """The accept transaction found that a trusted client's token may no longer send."""


class SubmissionHandler:
    def __init__(self, db: Database, committer: GroupCommitter, max_recipients: int,
                 trusted: TrustedPeers | None = None,
                 on_accepted: Callable[[], None] | None = None) -> None:
        self.db = db
        self.committer = committer
        self.max_recipients = max_recipients
        self.trusted = trusted
        self.on_accepted = on_accepted
        #: One function object, so group commit batches trusted accepts together.
        self._accept_trusted_many = (functools.partial(_accept_trusted_many,
                                                       trusted.sender.token)
                                     if trusted is not None else None)

    def connected(self, session: Session) -> None:
        """Clients in the trusted networks need no AUTH; whether their token may still
        send is checked with each message they send (see _commit)."""
        if self.trusted is not None and self.trusted.covers(session.peer):
            session.identity = self.trusted.sender

    async def authenticate(self, login: str, password: str) -> Identity | None:
        """A server token as both user name and password. The lookup runs on the
        database's thread pool: on the event loop it would stall every session of the
        process while it runs (for as long as a connection attempt takes when the
        database is unreachable)."""
        if login != password:
            return None
        try:
            return await self.db.run(identities.smtp_identity, self.db, login)
        except DatabaseUnavailable as exc:
            log.warning("token lookup failed, the database is unavailable: %s", exc)
            raise TemporaryFailure from exc
        except Exception as exc:  # cannot decide now either: the client retries later
            log.exception("token lookup failed")
            raise TemporaryFailure from exc

    def mail(self, session: Session, address: str) -> str | None:
        if address and not addresses.is_valid(address):
            return "553 5.1.7 Invalid sender address"
        return None

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self.max_recipients} a message)"
        if not addresses.is_valid(address):
            return "553 5.1.3 Invalid recipient address"
        return None

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str:
        sender = session.identity
        identity = sender.identity if isinstance(sender, TrustedSender) else cast(Identity,
                                                                                  sender)
        try:
            submission = to_submission(content, envelope.mail_from, list(envelope.rcpt_tos),
                                       identity.server_id, identity.delivery_type)
        except MalformedMessage as exc:
            return f"554 5.6.0 Malformed message: {exc}"[:500]
        try:
            accepted = await self._commit(sender, submission)
        except SenderRefused:
            return TRUSTED_REFUSED
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

    async def _commit(self, sender: Any, submission: Submission) -> Accepted:
        """Accept in the next group commit; a trusted client's token is checked there."""
        if isinstance(sender, TrustedSender):
            return await self.committer.submit(
                functools.partial(_accept_trusted, sender.token, submission),
                many=self._accept_trusted_many, payload=submission)
        return await self.committer.submit(functools.partial(_accept, submission),
                                           many=accept_checked_many, payload=submission)


def _accept(submission: Submission, conn: Transaction) -> Accepted:
    return accept_checked(conn, submission)


def _accept_trusted(token: str, submission: Submission, conn: Transaction) -> Accepted:
    if identities.smtp_sender(conn, token) is None:
        raise SenderRefused
    return _accept(submission, conn)


def _accept_trusted_many(token: str, conn: Transaction, submissions: list[Submission]
                         ) -> list[Accepted | PostlaneError | SenderRefused]:
    """A batch of trusted clients' messages: one token check for all of them."""
    if identities.smtp_sender(conn, token) is None:
        return [SenderRefused() for _ in submissions]
    return list(accept_checked_many(conn, submissions))
