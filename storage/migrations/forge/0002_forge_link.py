"""forge: people's linked forge accounts and their contributor metrics

Revision ID: forge_0002
Revises: forge_0001
Create Date: 2026-11-29 20:10:00

forge_link keeps, per person and forge, the account they linked with `!forge github NAME`, the
code that proves it is theirs (verified_at once found in their profile), and the numbers last
read from the forge over 4 and 52 weeks: changes merged, reviews given, tasks closed.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'forge_0002'
down_revision: str | None = 'forge_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = ('merged_4', 'merged_52', 'reviews_4', 'reviews_52', 'closed_4', 'closed_52')


def upgrade() -> None:
    op.create_table(
        'forge_link',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('forge', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('username', sa.String(length=200), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('verified_at', UtcDateTime(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=True) for name in COUNTS),
        sa.Column('metrics_at', UtcDateTime(), nullable=True),
        sa.Column('metrics_next_at', UtcDateTime(), nullable=True),
        sa.Column('metrics_error', sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id', 'forge'),
    )
    op.create_index('ix_forge_link_due', 'forge_link', ['metrics_next_at'], unique=False,
                    sqlite_where=sa.text('metrics_next_at IS NOT NULL'),
                    postgresql_where=sa.text('metrics_next_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_forge_link_due', table_name='forge_link')
    op.drop_table('forge_link')
