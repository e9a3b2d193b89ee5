"""events: check-in codes and attendance

Revision ID: events_0006
Revises: events_0005
Create Date: 2026-11-29 20:30:00

event_checkin keeps the code shown at an event's venue (`!checkin code EVENT`), attendance who
said it to the bot (`!checkin CODE`): it counts in the person's record and the travel report,
and the next day's follow-up (thanks, next steps, a feedback question) is due at follow_up_at
(NULL once sent); the feedback is kept with it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'events_0006'
down_revision: str | None = 'events_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'event_checkin',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.String(length=300), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('event_id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'attendance',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('follow_up_at', UtcDateTime(), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('comment', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'person_id'),
    )
    op.create_index('ix_attendance_person_id', 'attendance', ['person_id'], unique=False)
    op.create_index('ix_attendance_follow_up', 'attendance', ['follow_up_at'], unique=False,
                    sqlite_where=sa.text('follow_up_at IS NOT NULL'),
                    postgresql_where=sa.text('follow_up_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_attendance_follow_up', table_name='attendance')
    op.drop_index('ix_attendance_person_id', table_name='attendance')
    op.drop_table('attendance')
    op.drop_table('event_checkin')
