"""Token -> identity (services.identity), on both databases: the answers SMTP AUTH, SMTP
trusted networks, the API and the dashboard login share, and the SMTP accept's check in
the group-commit transaction (smtp/senders.py)."""

from __future__ import annotations

from postlane.accept import Accepted, Submission
from postlane.domain.records import Identity
from postlane.domain.types import DeliveryType, Source
from postlane.services import identity
from postlane.smtp.senders import SenderRefused, accept_many
from postlane.store import servers, tokens
from postlane.store.database import Database


def _server(db: Database, name: str, **settings: object) -> tuple[int, str]:
    with db.write() as conn:
        server_id = servers.create(conn, name, {"delivery_type": "Sandbox", **settings})
        return server_id, tokens.tokens_of(conn, server_id)[0]


def test_server_tokens(db: Database) -> None:
    server_id, token = _server(db, "On")
    off_id, off_token = _server(db, "Off", smtp_api_activated=False)
    with db.write() as conn:
        account = tokens.add_account_token(conn)

    assert identity.smtp_identity(db, token) == Identity(server_id, DeliveryType.SANDBOX)
    # SmtpApiActivated switches SMTP off, and only SMTP: the API still answers.
    assert identity.smtp_identity(db, off_token) is None
    assert identity.api_server_id(db, off_token) == off_id
    assert identity.api_server_id(db, token) == server_id
    # The token families never mix, and unknown tokens are nobody.
    for nobody in (account, "no-such-token", ""):
        assert identity.smtp_identity(db, nobody) is None
        assert identity.api_server_id(db, nobody) is None
    server = identity.server_for_token(db, off_token)
    assert server is not None and server.id == off_id


def test_account_tokens(db: Database) -> None:
    _, server_token = _server(db, "Any")
    with db.write() as conn:
        account = tokens.add_account_token(conn)
    assert identity.is_account_token(db, account)
    assert not identity.is_account_token(db, server_token)
    assert not identity.is_account_token(db, "no-such-token")


def _submission(server_id: int) -> Submission:
    return Submission(server_id=server_id, delivery_type=DeliveryType.SANDBOX,
                      stream="outbound", source=Source.SMTP, from_field="a@example.com",
                      recipients=["b@example.com"], raw=b"Subject: x\r\n\r\nx\r\n", size=20)


def test_an_smtp_batch_checks_each_token_in_the_accept_transaction(db: Database) -> None:
    server_id, token = _server(db, "Sender")
    other_id, other = _server(db, "Other")
    with db.write() as conn:
        results = accept_many(conn, [(token, _submission(server_id)) for _ in "ab"])
    assert all(isinstance(result, Accepted) for result in results)

    with db.write() as conn:
        servers.update(conn, server_id, {"smtp_api_activated": False})
        results = accept_many(conn, [(token, _submission(server_id)),
                                     (other, _submission(other_id)),
                                     (token, _submission(server_id))])
    assert [type(result) for result in results] == [SenderRefused, Accepted, SenderRefused]

    with db.write() as conn:
        servers.delete(conn, server_id)
        results = accept_many(conn, [(token, _submission(server_id))])
    assert isinstance(results[0], SenderRefused)
