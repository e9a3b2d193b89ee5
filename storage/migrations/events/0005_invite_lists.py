"""events: invite lists other than regions (local groups), and broadcasts of a message

Revision ID: events_0005
Revises: events_0004
Create Date: 2026-11-29 20:00:00

A person may ask to be on an invite list that is not a region, such as a local group's
(`!group join ID`, list "group:ID"): invite_list keeps who is on which list. A broadcast of
kind "message" goes to a list's members with the text its `message` column keeps (the
group's organizers write it), through the same scheduled fan-out as event invites.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UtcDateTime

revision: str = 'events_0005'
down_revision: str | None = 'events_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'invite_list',
        sa.Column('list_key', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('joined_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('list_key', 'person_id'),
    )
    op.create_index('ix_invite_list_person_id', 'invite_list', ['person_id'], unique=False)
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.String(length=2000), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_column('message')
    op.drop_index('ix_invite_list_person_id', table_name='invite_list')
    op.drop_table('invite_list')
