"""events: rsvp by person

Revision ID: events_0001
Revises:
Depends on: 0006
Create Date: 2026-11-29 16:00:00

The first revision of the events feature's own branch (see storage/migrations/README.md).
The rsvp table's key starts with event_id, so everything that looks a person's answers up by
person_id scanned the whole table: forgetting a person (ON DELETE CASCADE from person) and
merging two people (storage.events._move_person). An index on rsvp.person_id serves them.
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'events_0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ('events',)
depends_on: str | Sequence[str] | None = '0006'


def upgrade() -> None:
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.create_index('ix_rsvp_person_id', ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rsvp', schema=None) as batch_op:
        batch_op.drop_index('ix_rsvp_person_id')
