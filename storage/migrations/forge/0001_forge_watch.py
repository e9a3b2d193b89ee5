"""forge: the changes followed until merged or abandoned

Revision ID: forge_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 17:45:00

The first revision of the forge feature's own branch (see storage/migrations/README.md):
forge_watch keeps, per person, the change they named with `!done LINK` while it is open, and
when to ask the forge about it again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'forge_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('forge',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_table(
        'forge_watch',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=128), nullable=False),
        sa.Column('project_id', sa.String(length=128), nullable=False),
        sa.Column('link', sa.String(length=1000), nullable=False),
        sa.Column('holder', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('next_check_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )
    op.create_index('ix_forge_watch_due', 'forge_watch', ['next_check_at'], unique=False,
                    sqlite_where=sa.text('next_check_at IS NOT NULL'),
                    postgresql_where=sa.text('next_check_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_forge_watch_due', table_name='forge_watch')
    op.drop_table('forge_watch')
