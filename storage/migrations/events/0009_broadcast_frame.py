"""events: the words around a list message, worded for each member

Revision ID: events_0009
Revises: events_0008
Create Date: 2026-11-29 23:00:00

broadcast.frame keeps the lines around a message to an invite list's members (a local group's
"From ...'s organizers:" and how to leave), as message ids and their values: the broadcaster
words them in each member's language, the organizer's own text as written. NULL (every
existing row): the message goes as it is.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'events_0009'
down_revision: str | None = 'events_0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frame', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_column('frame')
