"""The SMTP session: authenticate with a server token, limit recipients, accept on DATA.

The 250 reply is sent only after the accept transaction has committed, and carries the
MessageID; anything that stops the commit is a 4xx, so the client keeps the message.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import SQLAlchemyError

from postlane.accept import Accepted, Submission, accept, accept_checked_many, check_stream
from postlane.domain import addresses
from postlane.domain.errors import ApiError
from postlane.domain.types import DeliveryType
from postlane.smtp.parse import MalformedMessage, to_submission
from postlane.store import servers, tokens
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingCheck:
    """Credentials aiosmtpd handed to the (synchronous) authenticator, to be checked
    against the database off the event loop by :meth:`TokenAuthenticator.verify`."""

    login: str
    password: str


class TokenAuthenticator:
    """AUTH PLAIN/LOGIN with a server token as both user name and password.

    aiosmtpd calls an authenticator synchronously, on the event loop: a database query
    there would stall every session of the process while it runs (for as long as a
    connection attempt takes when the database is unreachable). So the call only
    captures the credentials; the submission protocol awaits :meth:`verify`, which runs
    the query on the database's thread pool.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        return AuthResult(success=False, handled=False, auth_data=PendingCheck(
            auth_data.login.decode("utf-8", "replace"),
            auth_data.password.decode("utf-8", "replace")))

    async def verify(self, pending: PendingCheck) -> AuthResult:
        if pending.login != pending.password:
            return AuthResult(success=False, handled=False)
        try:
            row = await self.db.run(self._server_for_token, pending.login)
        except SQLAlchemyError:
            log.exception("token lookup failed")
            # handled=False: aiosmtpd then sends our message (handled=True sends nothing).
            return AuthResult(success=False, handled=False,
                              message="454 4.7.0 Temporary authentication failure")
        if row is None or not row["smtp_api_activated"]:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=(row["id"], DeliveryType(row["delivery_type"])))

    def _server_for_token(self, token: str) -> RowMapping | None:
        with self.db.read() as conn:
            server_id = tokens.server_id_for_token(conn, token)
            return servers.get(conn, server_id) if server_id is not None else None


class SubmissionHandler:
    def __init__(self, committer: GroupCommitter, max_recipients: int,
                 on_accepted: Callable[[], None] | None = None) -> None:
        self.committer = committer
        self.max_recipients = max_recipients
        self.on_accepted = on_accepted

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if address and not addresses.is_valid(address):
            return "553 5.1.7 Invalid sender address"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self.max_recipients} a message)"
        if not addresses.is_valid(address):
            return "553 5.1.3 Invalid recipient address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        server_id, delivery_type = cast(tuple[int, DeliveryType], session.auth_data)
        raw = envelope.original_content or b""
        try:
            submission = to_submission(raw, envelope.mail_from or "", list(envelope.rcpt_tos),
                                       server_id, delivery_type)
        except MalformedMessage as exc:
            return f"554 5.6.0 Malformed message: {exc}"[:500]
        try:
            accepted = await self.committer.submit(functools.partial(_accept, submission),
                                                   many=accept_checked_many, payload=submission)
        except ApiError as exc:
            return f"550 5.7.1 {exc.message}"
        except Exception:
            log.exception("accept failed; answering 451 so the client retries")
            return "451 4.3.0 Temporary failure storing the message; please retry"
        if self.on_accepted is not None:
            self.on_accepted()
        return f"250 2.0.0 Ok: queued as {accepted.message_id}"



def _accept(submission: Submission, conn: Connection) -> Accepted:
    check_stream(conn, submission.server_id, submission.stream)
    return accept(conn, submission)
