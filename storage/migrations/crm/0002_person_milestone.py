"""crm: a summary of the progress events, one row per person, for the reports

Revision ID: crm_0002
Revises: crm_0001
Create Date: 2026-11-29 18:50:00

person_milestone holds when each person first reached each step of the funnel (first !start,
project, workshop, first task, the third task, a "yes" to an event); milestone_mark how far the
summary has read progress_event, and the people a merge left to summarise again. The reports
bring the summary up to date before they count (the first report after this migration reads
every event: the backfill). Reading the events themselves took 2-6 s a report at 1,000,000
events, so the kind index of crm_0001 is dropped again (one index less to write per event).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'crm_0002'
down_revision: str | None = 'crm_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_progress_event_kind', table_name='progress_event')
    op.create_table(
        'person_milestone',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('started_at', UtcDateTime(), nullable=True),
        sa.Column('project_at', UtcDateTime(), nullable=True),
        sa.Column('workshop_at', UtcDateTime(), nullable=True),
        sa.Column('first_task_at', UtcDateTime(), nullable=True),
        sa.Column('first_task_project', sa.String(length=128), nullable=False),
        sa.Column('involved_at', UtcDateTime(), nullable=True),
        sa.Column('event_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )
    with op.batch_alter_table('person_milestone', schema=None) as batch_op:
        batch_op.create_index('ix_person_milestone_started_at', ['started_at'], unique=False)
    op.create_table(
        'milestone_mark',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('milestone_mark')
    with op.batch_alter_table('person_milestone', schema=None) as batch_op:
        batch_op.drop_index('ix_person_milestone_started_at')
    op.drop_table('person_milestone')
    op.create_index('ix_progress_event_kind', 'progress_event', ['kind', 'person_id', 'at'])
