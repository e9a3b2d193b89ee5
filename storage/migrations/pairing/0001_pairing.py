"""pairing: who may be paired for peer programming, and the introductions made

Revision ID: pairing_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 20:20:00

The first revision of the pairing feature's own branch (see storage/migrations/README.md):
pair_standing, one row per person projected from their state (their project, whether they
said !pair on, the network to reach them on), and pairing, the introductions of two
newcomers of a project (at most one new partner a week each, never the same one twice).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'pairing_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('pairing',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_table(
        'pair_standing',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('project', sa.String(length=64), nullable=False),
        sa.Column('pair', sa.Boolean(), nullable=False),
        sa.Column('reach', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )
    op.create_index('ix_pair_standing_pair', 'pair_standing', ['project', 'person_id'],
                    unique=False, sqlite_where=sa.text('pair'), postgresql_where=sa.text('pair'))
    op.create_table(
        'pairing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project', sa.String(length=64), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=False),
        sa.Column('second_id', sa.Integer(), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['first_id'], ['person.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['second_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_pairing_first_id', 'pairing', ['first_id'], unique=False)
    op.create_index('ix_pairing_second', 'pairing', ['second_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_pairing_second', table_name='pairing')
    op.drop_index('ix_pairing_first_id', table_name='pairing')
    op.drop_table('pairing')
    op.drop_index('ix_pair_standing_pair', table_name='pair_standing')
    op.drop_table('pair_standing')
