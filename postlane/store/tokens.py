"""API tokens: one account token family, per-server token families. Never mixed."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.store.schema import account_tokens, server_tokens, utcnow


def new_token() -> str:
    return str(uuid.uuid4())


def add_account_token(conn: Connection, token: str | None = None) -> str:
    token = token or new_token()
    conn.execute(account_tokens.insert().values(token=token, created_at=utcnow()))
    return token


def account_tokens_list(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(account_tokens.c.token)
                             .order_by(account_tokens.c.created_at)).scalars())


def is_account_token(conn: Connection, token: str) -> bool:
    return conn.execute(sa.select(sa.literal(1)).where(account_tokens.c.token == token)
                        ).first() is not None


def add_server_token(conn: Connection, server_id: int, token: str | None = None) -> str:
    token = token or new_token()
    conn.execute(server_tokens.insert().values(token=token, server_id=server_id,
                                               created_at=utcnow()))
    return token


def server_id_for_token(conn: Connection, token: str) -> int | None:
    return conn.execute(sa.select(server_tokens.c.server_id)
                        .where(server_tokens.c.token == token)).scalar()


def server_ids_for_tokens(conn: Connection, tokens: list[str]) -> dict[str, int]:
    """Which of ``tokens`` are server tokens, and of which server: one query."""
    if not tokens:
        return {}
    rows = conn.execute(sa.select(server_tokens.c.token, server_tokens.c.server_id)
                        .where(server_tokens.c.token.in_(sorted(set(tokens)))))
    return {row.token: row.server_id for row in rows}


def tokens_of(conn: Connection, server_id: int) -> list[str]:
    return list(conn.execute(sa.select(server_tokens.c.token)
                             .where(server_tokens.c.server_id == server_id)
                             .order_by(server_tokens.c.created_at)).scalars())
