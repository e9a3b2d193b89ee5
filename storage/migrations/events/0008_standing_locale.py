"""events: each person's language in their standing, for invites and reminders

Revision ID: events_0008
Revises: events_0007
Create Date: 2026-11-29 22:45:00

person_standing.locale keeps the language a person chose (`!language`) or their client names,
as their turns project it: the broadcaster words each invite, reminder and list message in
the recipient's language. NULL (every existing row, and anyone who named none) is the
community's default; a row gets its language at the person's next turn.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'events_0008'
down_revision: str | None = 'events_0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person_standing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person_standing', schema=None) as batch_op:
        batch_op.drop_column('locale')
