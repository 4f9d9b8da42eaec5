"""Keys the server signs with, kept in the database so that every process of a
scale-out and every restart signs and checks with the same one.

A key is made the first time it is asked for (random, 256 bits); processes that ask at
the same moment agree on whichever row was inserted first (INSERT ... ON CONFLICT DO
NOTHING, then read). A key configured by the operator wins and is never stored.
"""

from __future__ import annotations

import secrets
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from postlane.store.database import Database
from postlane.store.schema import signing_keys, utcnow

#: The key of VERP return paths (postlane.domain.verp).
VERP = "verp"
#: The key of open and click tracking tokens (postlane.domain.tracking_urls).
TRACKING = "tracking"

#: A stored key never changes, so each process reads it once per database.
_cache: weakref.WeakKeyDictionary[Database, dict[str, bytes]] = weakref.WeakKeyDictionary()


def get_or_create(conn: Connection, name: str) -> str:
    """The stored key ``name``, made now if there is none (in the caller's transaction)."""
    found = _read(conn, name)
    if found is not None:
        return found
    dialect = conn.dialect.name
    insert: Any = (postgresql.insert(signing_keys) if dialect == "postgresql"
                   else sqlite.insert(signing_keys))
    conn.execute(insert.values(name=name, value=secrets.token_hex(32), created_at=utcnow())
                 .on_conflict_do_nothing(index_elements=[signing_keys.c.name]))
    stored = _read(conn, name)
    assert stored is not None  # inserted above, or by whoever won the race
    return stored


def _read(conn: Connection, name: str) -> str | None:
    value = conn.execute(sa.select(signing_keys.c.value)
                         .where(signing_keys.c.name == name)).scalar()
    return str(value) if value is not None else None


def verp_key_in(conn: Connection, configured: str | None) -> bytes:
    """The VERP key: ``configured`` (settings.verp_secret) when set, else the stored one."""
    if configured:
        return configured.encode()
    return get_or_create(conn, VERP).encode()


def verp_key(db: Database, configured: str | None) -> bytes:
    """:func:`verp_key_in` in a transaction of its own, read once per process."""
    return _key(db, VERP, configured)


def tracking_key(db: Database, configured: str | None) -> bytes:
    """The tracking tokens' key: ``configured`` (settings.tracking_secret) when set, else
    the stored one, read once per process."""
    return _key(db, TRACKING, configured)


def _key(db: Database, name: str, configured: str | None) -> bytes:
    if configured:
        return configured.encode()
    known = _cache.setdefault(db, {})
    if name not in known:
        with db.read() as conn:  # the usual case: no write lock taken
            stored = _read(conn, name)
        if stored is None:
            with db.write() as conn:
                stored = get_or_create(conn, name)
        known[name] = stored.encode()
    return known[name]
