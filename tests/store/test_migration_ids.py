"""Migration 0007 (issue 9) on a SQLite database filled at 0006: every row, index and
relation survives the table rebuild, foreign keys are enforced again afterwards, and an
id handed out before the migration is never handed out again after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from postlane.store import migrate
from postlane.store.database import Database
from postlane.store.schema import (
    account_tokens,
    dashboard_sessions,
    message_streams,
    metadata,
    server_tokens,
    servers,
    signing_keys,
    utcnow,
)
from tests.store.test_ids_never_reused import ROWS, insert_server_and_message
from tests.store.test_ids_never_reused import TABLES as ALL_TABLES

#: Tables created by revisions after 0007: not part of what 0007 must keep.
LATER_TABLES = frozenset({"templates", "opens", "clicks"})
#: Columns added by revisions after 0007 to the tables it rebuilds.
LATER_COLUMNS = frozenset({("messages", "render_error")})
TABLES = {name: t for name, t in ALL_TABLES.items() if name not in LATER_TABLES}


def _upgrade(db: Database, target: str) -> None:
    with db.engine.connect() as conn:
        cfg = migrate.alembic_config(db.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
        conn.commit()


def _fill(conn: sa.Connection) -> int:
    sid, mid = insert_server_and_message(conn)
    conn.execute(account_tokens.insert().values(token="acct", created_at=utcnow()))
    conn.execute(server_tokens.insert().values(token="srv", server_id=sid, created_at=utcnow()))
    conn.execute(message_streams.insert().values(server_id=sid, id="outbound", name="Default",
                                                 stream_type="Transactional",
                                                 created_at=utcnow()))
    conn.execute(signing_keys.insert().values(name="verp", value="k", created_at=utcnow()))
    conn.execute(dashboard_sessions.insert().values(key="s", created_at=utcnow(),
                                                    expires_at=utcnow()))
    for name, table in TABLES.items():
        for n in range(1, 4):
            conn.execute(table.insert().values(ROWS[name](sid, mid, n)))
    return sid


def _snapshot(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table 0006 has (later revisions add tables of their own, e.g. 0008's)."""
    present = set(sa.inspect(conn).get_table_names()) - LATER_TABLES
    return {t.name: [tuple(r) for r in conn.execute(
        sa.select(*(c for c in t.columns if (t.name, c.name) not in LATER_COLUMNS))
        .order_by(*t.primary_key.columns)).all()]
        for t in metadata.sorted_tables if t.name in present}


def _indexes(conn: sa.Connection) -> set[tuple[str, str]]:
    return {(str(r[0]), str(r[1])) for r in conn.exec_driver_sql(
        "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'")
        if str(r[0]) not in LATER_TABLES}


def test_rows_relations_and_fresh_ids_survive_0007(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}", pool_size=1)
    try:
        _upgrade(db, "0006")
        with db.write() as conn:
            sid = _fill(conn)
            # Before 0007 SQLite hands a deleted newest id out again (the bug).
            newest = int(conn.execute(sa.select(sa.func.max(servers.c.id))).scalar_one())
            conn.execute(servers.delete().where(servers.c.id == newest))
            reused = conn.execute(servers.insert().values(ROWS["servers"](0, "", 7))
                                  ).inserted_primary_key[0]
            assert reused == newest
        with db.read() as conn:
            before, indexes = _snapshot(conn), _indexes(conn)
            newest_ids = {name: int(conn.execute(sa.select(sa.func.max(t.c.id))).scalar_one())
                          for name, t in TABLES.items()}

        _upgrade(db, "head")

        with db.engine.connect() as conn:  # the pool's one connection, the migration's
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert _snapshot(conn) == before
            assert _indexes(conn) == indexes
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            conn.rollback()
        with db.write() as conn:
            for name, table in TABLES.items():
                conn.execute(table.delete().where(table.c.id == newest_ids[name]))
                fresh = conn.execute(table.insert().values(ROWS[name](sid, before["messages"]
                                                                      [0][0], 8))
                                     ).inserted_primary_key[0]
                assert fresh > newest_ids[name], name
        with db.write() as conn:  # relations still cascade: the server takes its rows along
            conn.execute(servers.delete().where(servers.c.id == sid))
        with db.read() as conn:
            left = _snapshot(conn)
        assert left["server_tokens"] == left["messages"] == left["recipients"] == []
        assert left["bounces"] == left["webhooks"] == left["suppressions"] == []
        assert len(left["jobs"]) == 3 and len(left["inbound_reports"]) == 3
    finally:
        db.close()


def test_fresh_database_upgrades_twice_with_foreign_keys_back_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):
        db = Database(url, pool_size=1)
        try:
            migrate.upgrade(db)
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                names = set(conn.exec_driver_sql(
                    "SELECT name FROM sqlite_sequence").scalars())
                assert names == set(TABLES)
        finally:
            db.close()


def test_dangling_reference_fails_0007_and_rolls_it_back(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}", pool_size=1)
    try:
        _upgrade(db, "0006")
        with db.engine.connect() as conn:  # a row written while foreign keys were off
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA foreign_keys=OFF")
            conn.execute(TABLES["webhooks"].insert().values(ROWS["webhooks"](999, "", 1)))
            conn.commit()
            raw.execute("PRAGMA foreign_keys=ON")
        with pytest.raises(RuntimeError, match="foreign key check failed"):
            _upgrade(db, "head")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version"
                                        ).scalars().all() == ["0006"]
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'servers'"
                                       ).scalar_one()
            assert "AUTOINCREMENT" not in ddl
            assert conn.execute(sa.select(sa.func.count()).select_from(TABLES["webhooks"])
                                ).scalar_one() == 1
    finally:
        db.close()


def test_downgrade_and_upgrade_again_keep_the_sequence(tmp_path: Path) -> None:
    """Downgrade is a no-op; running 0007 again never lowers a table's sequence."""
    db = Database(f"sqlite:///{tmp_path / 'again.db'}", pool_size=1)
    try:
        migrate.upgrade(db)
        with db.write() as conn:
            sid = _fill(conn)
            conn.execute(servers.delete().where(servers.c.id != sid))
            newest = int(conn.execute(sa.select(sa.func.max(TABLES["jobs"].c.id))).scalar_one())
            conn.execute(TABLES["jobs"].delete())
        with db.engine.connect() as conn:
            cfg = migrate.alembic_config(db.url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0006")
            conn.commit()
        migrate.upgrade(db)
        with db.write() as conn:
            fresh = conn.execute(TABLES["jobs"].insert().values(ROWS["jobs"](sid, "", 5))
                                 ).inserted_primary_key[0]
        assert fresh > newest
    finally:
        db.close()
