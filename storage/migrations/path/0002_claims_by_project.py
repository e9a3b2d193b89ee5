"""path: task claims indexed by project and task

Revision ID: path_0002
Revises: path_0001
Create Date: 2026-11-29 21:10:00

A first-task offer reads the held and finished tasks of one project; without this index it
read every claim ever made, on every offer.
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'path_0002'
down_revision: str | None = 'path_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_task_claim_project_task', 'task_claim', ['project_id', 'task_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_task_claim_project_task', table_name='task_claim')
