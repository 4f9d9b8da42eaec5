"""webhook hardening: the server a job works for, so a claim can limit notify jobs per
server (issue 12, item 1)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('server_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    # Queued and failed (retryable by hand) notify jobs learn their server from their delivery (a job's ref is the
    # delivery's id as text; looked up by primary key, and a ref that is no number
    # matches none: SQLite casts it to 0, PostgreSQL is kept from casting it).
    ref = ("CASE WHEN jobs.ref ~ '^[0-9]{1,18}$' THEN CAST(jobs.ref AS BIGINT) END"
           if op.get_bind().dialect.name == "postgresql" else "CAST(jobs.ref AS INTEGER)")
    op.execute(
        "UPDATE jobs SET server_id = (SELECT d.server_id FROM webhook_deliveries d"
        f" WHERE d.id = {ref}) WHERE kind = 'notify' AND state IN ('queued', 'failed')")


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('server_id')
