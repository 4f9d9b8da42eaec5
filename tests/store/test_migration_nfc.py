"""Migration 0005 (issue 12): address keys stored before keys were NFC are rewritten, so a
suppression stored in the decomposed spelling still stops mail, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from postlane import screening
from postlane.domain.suppression import Outcome
from postlane.domain.types import Source
from postlane.store import admin, bounces, migrate
from postlane.store.database import Database
from postlane.store.schema import servers, suppressions, utcnow
from tests.conftest import PG_ADMIN_URL
from tests.support.records import hard_bounce

REVISION = "0005"
NFD = "jose\u0301@example.com"
NFC = "jos\u00e9@example.com"


@pytest.fixture
def empty_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path
             ) -> Iterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'old.db'}", pool_size=1)
        yield db
        db.close()
        return
    request.getfixturevalue("pg_database")  # skips (or fails) when PostgreSQL is missing
    name = f"postlane_nfc_{uuid.uuid4().hex[:10]}"
    db = Database(admin.create_database(PG_ADMIN_URL, name), pool_size=1)
    try:
        yield db
    finally:
        db.close()
        admin.drop_database(PG_ADMIN_URL, name)


def _upgrade(db: Database, target: str) -> None:
    with db.engine.connect() as conn:
        cfg = migrate.alembic_config(db.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
        conn.commit()


def _suppress(conn: sa.Connection, server_id: int, email: str, reason: str) -> None:
    conn.execute(suppressions.insert().values(server_id=server_id, stream="outbound",
                                              email=email, reason=reason, origin="Recipient",
                                              created_at=utcnow()))


def test_keys_stored_decomposed_are_rewritten_and_still_suppress(empty_db: Database) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config(empty_db.url))
    before = script.get_revision(REVISION).down_revision
    assert isinstance(before, str)
    _upgrade(empty_db, before)
    with empty_db.write() as conn:
        ids = [conn.execute(servers.insert().values(
            name=name, delivery_type="Sandbox", inbound_hash=name, created_at=utcnow())
        ).inserted_primary_key[0] for name in ("one", "two")]
        _suppress(conn, ids[0], NFD, "HardBounce")  # alone: renamed
        _suppress(conn, ids[1], NFD, "SpamComplaint")  # both spellings: merged,
        _suppress(conn, ids[1], NFC, "ManualSuppression")  # keeping the final reason
        _suppress(conn, ids[1], "plain@example.com", "ManualSuppression")
        bounces.insert_many(conn, [hard_bounce(ids[0], NFD, True, utcnow())])

    _upgrade(empty_db, "head")

    with empty_db.read() as conn:
        rows = conn.execute(sa.select(suppressions.c.server_id, suppressions.c.email,
                                      suppressions.c.reason).order_by(
            suppressions.c.server_id, suppressions.c.email)).all()
        assert [tuple(row) for row in rows] == [
            (ids[0], NFC, "HardBounce"), (ids[1], NFC, "SpamComplaint"),
            (ids[1], "plain@example.com", "ManualSuppression")]
        page = bounces.search(conn, ids[0], count=10, offset=0)
        assert [b.email for b in page.items] == [NFC]
        for spelling in (NFD, NFC, NFD.upper()):
            fates = screening.screen(conn, ids[0], "outbound", Source.API, False, [spelling])
            assert [f.outcome for f in fates.values()] == [Outcome.REJECT], spelling
