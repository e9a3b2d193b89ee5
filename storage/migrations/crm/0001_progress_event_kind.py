"""crm: progress events indexed by kind, for the reports

Revision ID: crm_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 18:20:00

The first revision of the CRM feature's own branch (see storage/migrations/README.md). The
reports (wayfinder report funnel, cohorts, ...) read each kind's events person by person: the
first date of each step, the n-th task done. The core's (person_id, kind, at) index made each
of them read every person's rows; (kind, person_id, at) reads only the kind's, in person order.
Nothing to backfill: every turn has written its progress events since the first revision.
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'crm_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('crm',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    op.create_index('ix_progress_event_kind', 'progress_event', ['kind', 'person_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_progress_event_kind', table_name='progress_event')
