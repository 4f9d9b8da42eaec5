"""templates: a server's Standard and Layout templates (issue 10, item 1)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
import postlane.store.schema


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('templates',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('server_id', _ID, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('alias', sa.String(length=255), nullable=True),
    sa.Column('alias_key', sa.String(length=255), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('text_body', sa.Text(), nullable=True),
    sa.Column('template_type', sa.String(length=10), nullable=False),
    sa.Column('layout_template', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', postlane.store.schema.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['server_id'], ['servers.id'], name=op.f('fk_templates_server_id_servers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_templates')),
    sa.UniqueConstraint('server_id', 'alias_key', name=op.f('uq_templates_server_id_alias_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_templates_server_id'), ['server_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_templates_server_id'))
    op.drop_table('templates')
