"""path: certificates can be revoked; newcomers' feedback (ratings, what brings them)

Revision ID: path_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 18:30:00

The first revision of the path feature's own branch (see storage/migrations/README.md): a
certificate keeps when, why and by whom it was revoked; feedback keeps the answer to "what
brings you here?" at !start and the 1-5 ratings (with an optional comment) of workshop steps
and finished tasks.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'path_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('path',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.String(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('revoked_by', sa.String(length=300), nullable=False,
                                      server_default=''))
    op.create_table(
        'feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('project_id', sa.String(length=128), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('answer', sa.String(length=64), nullable=False),
        sa.Column('comment', sa.String(length=1000), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_feedback_person_id', 'feedback', ['person_id'], unique=False)
    op.create_index('ix_feedback_kind_project', 'feedback', ['kind', 'project_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_feedback_kind_project', table_name='feedback')
    op.drop_index('ix_feedback_person_id', table_name='feedback')
    op.drop_table('feedback')
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('revoked_by')
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_at')
