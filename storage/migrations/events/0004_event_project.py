"""events: what an event is, and the project or workshop it is for

Revision ID: events_0004
Revises: events_0003
Create Date: 2026-11-29 20:10:00

A project's meeting or sprint invites the people working on that project, a live workshop
session those at that workshop or about to start it, wherever they are: program_event keeps
its kind, project and workshop, and person_standing each person's project and workshop (the
standing is projected again from the state at the person's next turn; until then "" invites
them to no such event).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'events_0004'
down_revision: str | None = 'events_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('program_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=False,
                                      server_default='meetup'))
        batch_op.add_column(sa.Column('project', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('workshop', sa.String(length=64), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('person_standing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('project', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('workshop', sa.String(length=64), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('person_standing', schema=None) as batch_op:
        batch_op.drop_column('workshop')
        batch_op.drop_column('project')
    with op.batch_alter_table('program_event', schema=None) as batch_op:
        batch_op.drop_column('workshop')
        batch_op.drop_column('project')
        batch_op.drop_column('kind')
