"""levelup: invitations to mentor, answers and approvals

Revision ID: levelup_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 20:30:00

The first revision of the levelup feature's own branch: one row per person invited to mentor
their project (the invitation goes once), with their answer, the verified identity they
mentor with, and who approved them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'levelup_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('levelup',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_table(
        'levelup',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('identity_key', sa.String(length=300), nullable=False),
        sa.Column('tasks_done', sa.Integer(), nullable=False),
        sa.Column('invited_at', UtcDateTime(), nullable=False),
        sa.Column('answered_at', UtcDateTime(), nullable=True),
        sa.Column('approved_by', sa.String(length=300), nullable=False),
        sa.Column('approved_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )
    op.create_index('ix_levelup_status', 'levelup', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_levelup_status', table_name='levelup')
    op.drop_table('levelup')
