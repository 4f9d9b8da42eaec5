"""opens, clicks: open and link tracking (issue 11, items 3 and 4)

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03 14:30:00.000000
"""
from alembic import op
import sqlalchemy as sa
import postlane.store.schema


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _engagement(name: str, *items: "sa.Column[object]") -> None:
    op.create_table(name,
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('server_id', _ID, nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('recipient_id', _ID, nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=False),
    sa.Column('client', sa.JSON(), nullable=False),
    sa.Column('os', sa.JSON(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    *items,
    sa.Column('received_at', postlane.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f(f'fk_{name}_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['server_id'], ['servers.id'], name=op.f(f'fk_{name}_server_id_servers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f(f'ix_{name}_server_id_received_at'), ['server_id', 'received_at'], unique=False)


def upgrade() -> None:
    _engagement('opens', sa.Column('first_open', sa.Boolean(), nullable=False))
    _engagement('clicks', sa.Column('original_link', sa.Text(), nullable=False),
                sa.Column('click_location', sa.String(length=8), nullable=False))


def downgrade() -> None:
    for name in ('clicks', 'opens'):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{name}_server_id_received_at'))
            batch_op.drop_index(batch_op.f(f'ix_{name}_message_id'))
        op.drop_table(name)
