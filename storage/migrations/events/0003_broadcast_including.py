"""events: a broadcast may invite again those who answered

Revision ID: events_0003
Revises: events_0002
Create Date: 2026-11-29 17:40:00

An invite broadcast skips people who already answered the event (and those it invited
before), unless the organizer names answers to invite again (`!broadcast EVENT including
maybe`): the broadcast row keeps them in `including`, comma-separated ("" for none).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'events_0003'
down_revision: str | None = 'events_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.add_column(sa.Column('including', sa.String(length=32), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('broadcast', schema=None) as batch_op:
        batch_op.drop_column('including')
