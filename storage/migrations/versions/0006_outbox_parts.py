"""outbox parts sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:50:00

An outbox row remembers how many parts of a split message (Telegram's 4096 characters) the
network already has, so a retry after a failure or a crash sends only the rest.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts_sent', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('parts_sent')
