"""events: buddies for first-timers at face-to-face events

Revision ID: events_0007
Revises: events_0006
Create Date: 2026-11-29 20:45:00

event_buddy keeps, per event, the experienced attendees who volunteered as buddies when they
said yes (`!rsvp EVENT yes buddy`) and the first-timers who said yes, each paired with a
buddy at pair_at (a week before the start) by a due job; organizers see the pairs in
`!event status` and `wayfinder buddies EVENT`.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'events_0007'
down_revision: str | None = 'events_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'event_buddy',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('pair_at', UtcDateTime(), nullable=True),
        sa.Column('starts_at', UtcDateTime(), nullable=True),
        sa.Column('buddy_id', sa.Integer(), nullable=True),
        sa.Column('paired_at', UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['buddy_id'], ['person.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('event_id', 'person_id'),
    )
    op.create_index('ix_event_buddy_person_id', 'event_buddy', ['person_id'], unique=False)
    op.create_index('ix_event_buddy_due', 'event_buddy', ['pair_at'], unique=False,
                    sqlite_where=sa.text('buddy_id IS NULL AND pair_at IS NOT NULL'),
                    postgresql_where=sa.text('buddy_id IS NULL AND pair_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_event_buddy_due', table_name='event_buddy')
    op.drop_index('ix_event_buddy_person_id', table_name='event_buddy')
    op.drop_table('event_buddy')
