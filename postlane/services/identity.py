"""Token -> identity: the one place that decides who a token is, for every front door.

SMTP AUTH, SMTP trusted networks, the REST API and the dashboard login all ask one of
the questions below. Each answer is one read of the database, so a token or server change
(a deleted server, SmtpApiActivated switched off) counts from the next question on,
with no restart. The functions block: async callers run them with ``Database.run``, off
the event loop, which every session of the process shares.
"""

from __future__ import annotations

from postlane.domain.records import Identity, Server
from postlane.store import Transaction, servers, tokens
from postlane.store.database import Database

#: Postmark's published test token: a send with it is validated and answered, never
#: stored or sent; it opens no other endpoint (api.auth).
API_TEST_TOKEN = "POSTMARK_API_TEST"


def is_api_test(token: str) -> bool:
    return token == API_TEST_TOKEN


def _server_for_token(conn: Transaction, token: str) -> Server | None:
    server_id = tokens.server_id_for_token(conn, token)
    return servers.get(conn, server_id) if server_id is not None else None


def server_for_token(db: Database, token: str) -> Server | None:
    """The server whose token this is, or None: what the SMTP start-up check reads."""
    with db.read() as conn:
        return _server_for_token(conn, token)


def smtp_sender(conn: Transaction, token: str) -> Identity | None:
    """Who a server token sends as over SMTP, or None when it is no server's token or
    that server's SMTP is switched off (Postmark's SmtpApiActivated). AUTH clients and
    clients on the trusted networks get this same answer; the trusted ones ask it in the
    transaction that accepts their message."""
    server = _server_for_token(conn, token)
    if server is None or not server.smtp_api_activated:
        return None
    return Identity.of(server)


def smtp_identity(db: Database, token: str) -> Identity | None:
    """smtp_sender in a read of its own (SMTP AUTH)."""
    with db.read() as conn:
        return smtp_sender(conn, token)


def api_server_id(db: Database, token: str) -> int | None:
    """The server a REST server token acts for, or None. SmtpApiActivated is about SMTP
    only: the API answers a server whose SMTP is switched off."""
    with db.read() as conn:
        return tokens.server_id_for_token(conn, token)


class SendTokens:
    """Server tokens the send path has seen, so a send needs no read of its own to know
    its server. A cached answer is a guess: the transaction that accepts the message
    checks the token again (sending.send_many, with :meth:`still_valid`), so a deleted
    server or a revoked token is refused from that commit on, and forgotten here. Only
    valid tokens are kept (a new token is never refused from the cache), at most
    ``capacity`` of them."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._known: dict[str, int] = {}

    def server_id(self, db: Database, token: str) -> int | None:
        """The token's server, from the cache or (on a miss) from the database."""
        known = self._known.get(token)
        if known is not None:
            return known
        found = api_server_id(db, token)
        if found is not None:
            if len(self._known) >= self.capacity:
                self._known.clear()
            self._known[token] = found
        return found

    def cached(self, token: str) -> int | None:
        return self._known.get(token)

    def still_valid(self, conn: Transaction, claims: dict[str, int]) -> set[str]:
        """Of ``claims`` (token -> the server it was taken for), those that still hold,
        read in the caller's transaction; the others are forgotten."""
        found = tokens.server_ids_for_tokens(conn, list(claims))
        valid = {token for token, server_id in claims.items() if found.get(token) == server_id}
        for token in set(claims) - valid:
            self._known.pop(token, None)
        return valid


def is_account_token(db: Database, token: str) -> bool:
    """Whether this is an account token (the account API, the dashboard login)."""
    with db.read() as conn:
        return tokens.is_account_token(conn, token)
