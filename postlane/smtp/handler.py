"""The submission session's rules: authenticate with a server token, limit recipients,
accept on DATA.

The 250 reply is sent only after the accept transaction has committed, and carries the
MessageID; anything that stops the commit is a 4xx, so the client keeps the message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import cast

from postlane.accept import Accepted, Submission
from postlane.domain import addresses
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.domain.records import Identity, Server
from postlane.services.sending import accept_checked, accept_checked_many
from postlane.smtp import replies
from postlane.smtp.engine import Envelope, Session, TemporaryFailure
from postlane.smtp.parse import MalformedMessage, to_submission
from postlane.smtp.trusted import TrustedPeers
from postlane.store import Transaction, servers, tokens
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)

TEMPORARY_FAILURE = replies.TEMPORARY_FAILURE


class SubmissionHandler:
    def __init__(self, db: Database, committer: GroupCommitter, max_recipients: int,
                 trusted: TrustedPeers | None = None,
                 on_accepted: Callable[[], None] | None = None) -> None:
        self.db = db
        self.committer = committer
        self.max_recipients = max_recipients
        self.trusted = trusted
        self.on_accepted = on_accepted

    def connected(self, session: Session) -> None:
        """Clients in the trusted networks are authenticated as their server up front."""
        if self.trusted is not None and self.trusted.covers(session.peer):
            session.identity = self.trusted.identity

    async def authenticate(self, login: str, password: str) -> Identity | None:
        """A server token as both user name and password. The lookup runs on the
        database's thread pool: on the event loop it would stall every session of the
        process while it runs (for as long as a connection attempt takes when the
        database is unreachable)."""
        if login != password:
            return None
        try:
            row = await self.db.run(self._server_for_token, login)
        except DatabaseUnavailable as exc:
            log.warning("token lookup failed, the database is unavailable: %s", exc)
            raise TemporaryFailure from exc
        except Exception as exc:  # cannot decide now either: the client retries later
            log.exception("token lookup failed")
            raise TemporaryFailure from exc
        if row is None or not row.smtp_api_activated:
            return None
        return Identity.of(row)

    def _server_for_token(self, token: str) -> Server | None:
        with self.db.read() as conn:
            server_id = tokens.server_id_for_token(conn, token)
            return servers.get(conn, server_id) if server_id is not None else None

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
        identity = cast(Identity, session.identity)
        try:
            submission = to_submission(content, envelope.mail_from, list(envelope.rcpt_tos),
                                       identity.server_id, identity.delivery_type)
        except MalformedMessage as exc:
            return f"554 5.6.0 Malformed message: {exc}"[:500]
        try:
            accepted = await self.committer.submit(functools.partial(_accept, submission),
                                                   many=accept_checked_many, payload=submission)
        except PostlaneError as exc:
            if isinstance(exc, DatabaseUnavailable):
                log.warning("accept failed, the database is unavailable (answering 451): %s",
                            exc)
            return replies.reply(exc)
        except Exception:
            log.exception("accept failed; answering 451 so the client retries")
            return TEMPORARY_FAILURE
        if self.on_accepted is not None:
            self.on_accepted()
        return f"250 2.0.0 Ok: queued as {accepted.message_id}"


def _accept(submission: Submission, conn: Transaction) -> Accepted:
    return accept_checked(conn, submission)
