"""ids never reused: integer-keyed SQLite tables become AUTOINCREMENT (issue 9, item 3)

Without AUTOINCREMENT SQLite hands the next row max(rowid)+1, so deleting the newest
server, webhook or bounce gives its id to the next one and a client still holding the
old id reaches the new row. Each integer-keyed table is rebuilt with AUTOINCREMENT
(alembic batch mode: create the new table, copy every row with its id, drop the old
one, rename, recreate its indexes; foreign keys and unique constraints are reflected
and kept), and ``sqlite_sequence`` is seeded with the table's max(id): ids of rows
deleted before this migration cannot be known, but none above the max was handed out.

Foreign keys are off during the rebuild (``sqlite_foreign_keys_off`` below, honoured by
migrations/env.py): with them on, dropping ``servers`` would cascade-delete every
child row. ``PRAGMA foreign_key_check`` runs before the transaction commits, and any
dangling reference fails the migration, which rolls everything back.

PostgreSQL identity sequences never go back, so there it is a no-op. Downgrade is a
no-op too: AUTOINCREMENT changes which ids SQLite picks, not what the older code reads
or writes, so the older schema works with these tables as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

#: Read by migrations/env.py: run this migration with SQLite foreign keys off.
sqlite_foreign_keys_off = True

#: The tables whose primary key is an integer id when this migration was written
#: (later integer-keyed tables are created with AUTOINCREMENT from the start).
TABLES = ('servers', 'recipients', 'message_events', 'suppressions', 'bounces',
          'webhooks', 'webhook_deliveries', 'jobs', 'inbound_reports')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    enforced = bind.exec_driver_sql('PRAGMA foreign_keys').scalar()
    if enforced:
        raise RuntimeError('0007 rebuilds tables and must run with SQLite foreign keys off '
                           '(migrations/env.py does this for sqlite_foreign_keys_off)')
    # Read before rebuilding: dropping an AUTOINCREMENT table (a second run, after the
    # no-op downgrade) deletes its sqlite_sequence row along with it.
    kept = _sequences(bind)
    for name in TABLES:
        with op.batch_alter_table(name, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}):
            pass
        _seed_sequence(bind, name, kept.get(name, 0))
    dangling = bind.exec_driver_sql('PRAGMA foreign_key_check').all()
    if dangling:
        raise RuntimeError(f'foreign key check failed after rebuilding tables: {dangling}')


def _sequences(bind: sa.Connection) -> dict[str, int]:
    """sqlite_sequence as it stands (it exists once any AUTOINCREMENT table was made)."""
    exists = bind.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).first()
    if exists is None:
        return {}
    rows = bind.exec_driver_sql('SELECT name, max(seq) FROM sqlite_sequence GROUP BY name')
    return {str(name): int(seq) for name, seq in rows}


def _seed_sequence(bind: sa.Connection, name: str, kept: int) -> None:
    """One sqlite_sequence row for ``name`` holding the largest id ever handed out that
    is still knowable: the max of the table's ids and the sequence value kept before."""
    top = bind.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{name}"').scalar_one()
    seen = max(int(top), kept)
    bind.execute(sa.text('DELETE FROM sqlite_sequence WHERE name = :t'), {'t': name})
    bind.execute(sa.text('INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)'),
                 {'t': name, 's': seen})


def downgrade() -> None:
    """Nothing to undo: see the module docstring."""
