"""due work failures

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 15:10:00.000000

Attempt counts of due work (nudges, escalations, idle claims, broadcasts) that failed, and
the dead letters among them.
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

from storage.tables import UtcDateTime


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('due_failure',
    sa.Column('key', sa.String(length=1000), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=False),
    sa.Column('first_failed_at', UtcDateTime(), nullable=False),
    sa.Column('last_failed_at', UtcDateTime(), nullable=False),
    sa.Column('dead_at', UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('due_failure')
