"""events: person standing, the feature's audience read model in its own table

Revision ID: events_0002
Revises: events_0001
Create Date: 2026-11-29 16:10:00

What invite audiences select on (region, time zone, consent to invites, milestone, the network
invites go to) was kept in columns of the core's flow_state. It is the events feature's
projection of a person's state, so it moves to the feature's table person_standing: the rows
are copied over and the columns dropped. Downgrade copies them back.

Queued outbox rows named the recipient's time zone for quiet hours under the body key
"quiet_tz"; the dispatcher now reads generic deferral data under "defer", so unsent rows are
renamed (and back on downgrade).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'events_0002'
down_revision: str | None = 'events_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("region", "timezone", "invites", "milestone", "reach")
UNSENT = ("pending", "deferred", "sending")
outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("body", sa.JSON),
                  sa.column("status", sa.String))


def _rename_body_key(old: str, new: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.body).where(
        outbox.c.status.in_(UNSENT), sa.cast(outbox.c.body, sa.Text).like(f'%"{old}"%'))).all()
    for row in rows:
        body = dict(row.body)
        if old in body:
            body[new] = body.pop(old)
            conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(body=body))


def _columns() -> list[sa.Column[object]]:
    return [sa.Column('region', sa.String(length=64), nullable=False, server_default=''),
            sa.Column('timezone', sa.String(length=64), nullable=False, server_default=''),
            sa.Column('invites', sa.Boolean(), nullable=False, server_default=sa.false()),
            sa.Column('milestone', sa.Integer(), nullable=False, server_default='0'),
            sa.Column('reach', sa.String(length=32), nullable=False, server_default='')]


def upgrade() -> None:
    op.create_table(
        'person_standing',
        sa.Column('person_id', sa.Integer(), nullable=False),
        *_columns(),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )
    op.create_index('ix_person_standing_invites', 'person_standing', ['region', 'person_id'],
                    unique=False, sqlite_where=sa.text('invites'),
                    postgresql_where=sa.text('invites'))
    names = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO person_standing (person_id, {names}) "
               f"SELECT person_id, {names} FROM flow_state")
    op.drop_index('ix_flow_state_invites', table_name='flow_state')
    with op.batch_alter_table('flow_state', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
    _rename_body_key("quiet_tz", "defer")


def downgrade() -> None:
    _rename_body_key("defer", "quiet_tz")
    with op.batch_alter_table('flow_state', schema=None) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
    for name in COLUMNS:
        op.execute(f"UPDATE flow_state SET {name} = COALESCE((SELECT s.{name} FROM "
                   "person_standing s WHERE s.person_id = flow_state.person_id), "
                   f"flow_state.{name})")
    op.create_index('ix_flow_state_invites', 'flow_state', ['region', 'person_id'],
                    unique=False, sqlite_where=sa.text('invites'),
                    postgresql_where=sa.text('invites'))
    op.drop_index('ix_person_standing_invites', table_name='person_standing')
    op.drop_table('person_standing')
