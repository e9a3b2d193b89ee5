"""flow state version

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 18:30:00

Each person's state carries a version, bumped by every commit. On PostgreSQL, where several
processes may share the store, a commit is a compare-and-set on it: a state committed by
another process since the turn read it makes the turn run again. Existing rows start at 1
(0 means "no state committed yet").
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('flow_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))


def downgrade() -> None:
    with op.batch_alter_table('flow_state', schema=None) as batch_op:
        batch_op.drop_column('version')
