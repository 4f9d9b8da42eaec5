"""mx hardening: signing keys (the VERP key shared by every process)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:20:00.000000
"""
from alembic import op
import sqlalchemy as sa
import postlane.store.schema


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signing_keys',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', postlane.store.schema.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_signing_keys'))
    )


def downgrade() -> None:
    op.drop_table('signing_keys')
