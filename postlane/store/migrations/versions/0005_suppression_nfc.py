"""address keys in Unicode NFC

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:30:00.000000

Address keys (suppressions, recipients and bounces ``email``) were trimmed and lower-cased;
they are now in NFC as well (postlane.domain.addresses.normalize), so an é typed as e plus
a combining accent and as one code point is one address. Keys stored before that are
rewritten here, or a suppression stored in the decomposed spelling would no longer stop
mail to it. Two suppressions that become one keep the strongest reason (a spam complaint
stays final). Only keys with a character outside printable ASCII can change: only those
rows are read. The rule is spelled out here, not imported, so this migration keeps doing
what it did when the rule changes.
"""
import unicodedata
from typing import Any

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

#: Keys with a character outside printable ASCII (the same class in both dialects).
_NON_ASCII = {"postgresql": "email ~ '[^ -~]'", "sqlite": "email GLOB '*[^ -~]*'"}
#: Which suppression survives a merge: the one the customer may not lift wins.
_STRENGTH = {"SpamComplaint": 3, "HardBounce": 2, "ManualSuppression": 1}


def _key(email: str) -> str:
    return unicodedata.normalize("NFC", email.strip().lower())


def _changed(conn: sa.Connection, table: str, columns: str) -> list[sa.Row[Any]]:
    rows = conn.execute(sa.text(
        f"SELECT {columns} FROM {table} WHERE {_NON_ASCII[conn.dialect.name]}")).all()
    return [row for row in rows if _key(row.email) != row.email]


def _merge_suppression(conn: sa.Connection, row: sa.Row[Any]) -> None:
    same = conn.execute(sa.text(
        "SELECT id, reason FROM suppressions WHERE server_id = :s AND stream = :st "
        "AND email = :e"), {"s": row.server_id, "st": row.stream, "e": _key(row.email)}).first()
    if same is None:
        conn.execute(sa.text("UPDATE suppressions SET email = :e WHERE id = :i"),
                     {"e": _key(row.email), "i": row.id})
        return
    if _STRENGTH.get(row.reason, 0) > _STRENGTH.get(same.reason, 0):
        conn.execute(sa.text("UPDATE suppressions SET reason = :r, origin = :o WHERE id = :i"),
                     {"r": row.reason, "o": row.origin, "i": same.id})
    conn.execute(sa.text("DELETE FROM suppressions WHERE id = :i"), {"i": row.id})


def upgrade() -> None:
    conn = op.get_bind()
    for row in _changed(conn, "suppressions", "id, server_id, stream, email, reason, origin"):
        _merge_suppression(conn, row)
    for table in ("recipients", "bounces"):
        for row in _changed(conn, table, "id, email"):
            conn.execute(sa.text(f"UPDATE {table} SET email = :e WHERE id = :i"),
                         {"e": _key(row.email), "i": row.id})


def downgrade() -> None:
    """Nothing to undo: NFC keys are as valid a spelling as the ones they replace."""
