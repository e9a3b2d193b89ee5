"""outbox leases

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:50:00

With several processes on PostgreSQL, an outbox row is leased by the process sending it
(`FOR UPDATE SKIP LOCKED`, renewed while that process runs): two processes never send one
row, and a crashed process's rows are taken over once their lease runs out.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from storage.tables import UtcDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('lease_until', UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
