"""First-run set-up: an account token and a Sandbox "Default" server, so a fresh install
can be used at once. Idempotent: later starts only read what exists."""

from __future__ import annotations

from dataclasses import dataclass

from postlane.config import Settings
from postlane.domain.types import DeliveryType
from postlane.store import servers, tokens
from postlane.store.database import Database

DEFAULT_SERVER = "Default"


@dataclass(frozen=True)
class Bootstrap:
    account_token: str
    server_id: int | None
    server_token: str | None
    created: bool


def ensure(db: Database, settings: Settings) -> Bootstrap:
    with db.write() as conn:
        created = False
        account = tokens.account_tokens_list(conn)
        if settings.account_token and settings.account_token not in account:
            tokens.add_account_token(conn, settings.account_token)
            account.append(settings.account_token)
        if not account:
            account.append(tokens.add_account_token(conn))
            created = True
        server_id = servers.first_id(conn)
        if server_id is None:
            server_id = servers.create(conn, DEFAULT_SERVER,
                                       {"delivery_type": DeliveryType.SANDBOX.value},
                                       token=settings.server_token)
            created = True
        elif (settings.server_token
              and tokens.server_id_for_token(conn, settings.server_token) is None):
            tokens.add_server_token(conn, server_id, settings.server_token)
        server_tokens = tokens.tokens_of(conn, server_id)
    preferred = settings.account_token or account[0]
    server_token = settings.server_token or (server_tokens[0] if server_tokens else None)
    return Bootstrap(preferred, server_id, server_token, created)
