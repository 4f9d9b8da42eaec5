"""Alembic environment: uses the connection handed over by postlane.store.migrate.

A migration that recreates SQLite tables declares ``sqlite_foreign_keys_off = True``:
SQLite's DROP TABLE of a parent would otherwise cascade-delete its children's rows, and
the 12-step table rebuild needs foreign keys off. ``PRAGMA foreign_keys`` is silently
ignored inside a transaction, so it is switched here, on the driver connection, before
the migrations' transaction begins, only when such a migration is pending, and switched
back on once that transaction has ended (committed or rolled back), so the pooled
connection never goes back to the application without foreign keys. The migration
itself runs ``PRAGMA foreign_key_check`` before its transaction commits.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy.engine import Connection

from postlane.store.database import create_engine
from postlane.store.schema import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as conn:
            _migrate(conn)
            conn.commit()
        return
    _migrate(connection)


def _needs_foreign_keys_off(connection: Connection) -> bool:
    """Only an upgrade through such a migration, on a connection not yet in a transaction
    (one already in a transaction cannot switch: the migration then refuses to run)."""
    if (connection.dialect.name != "sqlite" or context.is_offline_mode()
            or connection.in_transaction()):
        return False
    current = MigrationContext.configure(connection).get_current_heads()
    connection.rollback()  # reading the version began a transaction: end it
    script = ScriptDirectory.from_config(config)
    try:
        pending = list(script.iterate_revisions(context.get_revision_argument(),
                                                current or "base"))
    except RevisionError:  # a downgrade: target below current; nothing rebuilds tables
        return False
    return any(getattr(rev.module, "sqlite_foreign_keys_off", False) for rev in pending)


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    raw = connection.connection.driver_connection
    assert raw is not None and not connection.in_transaction()
    enforced = raw.execute("PRAGMA foreign_keys").fetchone()[0]
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if connection.in_transaction():  # a failure left it open: roll back first
            connection.rollback()
        raw.execute(f"PRAGMA foreign_keys={'ON' if enforced else 'OFF'}")


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    if not _needs_foreign_keys_off(connection):
        with context.begin_transaction():
            context.run_migrations()
        return
    with _foreign_keys_off(connection), context.begin_transaction():
        context.run_migrations()


run()
