"""mentoring: office hours mentors set in chat

Revision ID: mentoring_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 20:20:00

The first revision of the mentoring feature's own branch (its first tables are in the shared
chain, 0002): mentor_hours keeps the office hours a mentor set with `!hours`, which replace
their profile's hours and time zone from mentors.toml.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'mentoring_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('mentoring',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_table(
        'mentor_hours',
        sa.Column('mentor_key', sa.String(length=300), nullable=False),
        sa.Column('hours', sa.String(length=200), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('set_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('mentor_key'),
    )


def downgrade() -> None:
    op.drop_table('mentor_hours')
