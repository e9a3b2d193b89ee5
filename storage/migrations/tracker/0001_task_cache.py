"""tracker: the cache of live tasks and each source's refresh standing

Revision ID: tracker_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 17:45:00

The first revision of the tracker feature's own branch (see storage/migrations/README.md):
tracker_task holds the open, unassigned tasks last read from each project's task sources;
tracker_source when each source was last read, why its last attempt failed, and when it is
read next.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'tracker_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('tracker',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_table(
        'tracker_source',
        sa.Column('source_key', sa.String(length=160), nullable=False),
        sa.Column('project_id', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('refreshed_at', UtcDateTime(), nullable=True),
        sa.Column('tried_at', UtcDateTime(), nullable=True),
        sa.Column('error', sa.String(length=500), nullable=False),
        sa.Column('next_at', UtcDateTime(), nullable=True),
        sa.Column('open_tasks', sa.Integer(), nullable=False),
        sa.Column('etag', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('source_key'),
    )
    op.create_table(
        'tracker_task',
        sa.Column('task_id', sa.String(length=128), nullable=False),
        sa.Column('source_key', sa.String(length=160), nullable=False),
        sa.Column('project_id', sa.String(length=128), nullable=False),
        sa.Column('native_id', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=500), nullable=False),
        sa.Column('url', sa.String(length=1000), nullable=False),
        sa.Column('skills', sa.JSON(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('is_open', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('task_id'),
    )
    op.create_index('ix_tracker_task_source_key', 'tracker_task', ['source_key'], unique=False)
    op.create_index('ix_tracker_task_project', 'tracker_task',
                    ['project_id', 'is_open', 'position'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tracker_task_project', table_name='tracker_task')
    op.drop_index('ix_tracker_task_source_key', table_name='tracker_task')
    op.drop_table('tracker_task')
    op.drop_table('tracker_source')
