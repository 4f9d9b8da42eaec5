"""dashboard sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 01:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import postlane.store.schema


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_sessions',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('created_at', postlane.store.schema.UTCDateTime(), nullable=False),
    sa.Column('expires_at', postlane.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_dashboard_sessions'))
    )
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_sessions_expires_at'))

    op.drop_table('dashboard_sessions')
