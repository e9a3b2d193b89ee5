"""digest: who gets the weekly digest, and the week last sent to them

Revision ID: digest_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 20:50:00

The first revision of the digest feature's own branch: digest_reader keeps each mentor or
organizer who talked to the bot from a verified identity holding the role (the digest's
projection of their turns), and the week (slot) of the last digest sent to them, so a week's
digest goes once, also across restarts.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'digest_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('digest',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_table(
        'digest_reader',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('identity_key', sa.String(length=300), nullable=False),
        sa.Column('roles', sa.String(length=64), nullable=False),
        sa.Column('sent_week', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )


def downgrade() -> None:
    op.drop_table('digest_reader')
