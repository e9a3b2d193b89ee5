"""feature state namespaces

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:15:00

A person's stored state had every feature's keys in one dict. Each feature now keeps its own
part under its name ("path", "events"); the core's keys (messages, last_room, choices,
paused) stay at the top. This moves the keys of every stored state; downgrade moves them back.
The key lists are frozen here: they describe the state as it was at this revision.
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMESPACES = {
    "path": ("origin", "profile", "discovery", "project", "workshops", "on_step",
             "completed_workshops",
             "certificates", "task", "tasks_done", "finished_tasks", "expecting", "nudged",
             "left", "region_offered"),
    "events": ("region", "invites", "timezone", "broadcast_preview"),
}
BATCH = 1000

flow_state = sa.table("flow_state", sa.column("person_id", sa.Integer),
                      sa.column("data", sa.JSON))


def nest(data: dict[str, Any]) -> dict[str, Any]:
    """Flat keys of a state from before 0005 into their feature's namespace."""
    out = dict(data)
    for namespace, keys in NAMESPACES.items():
        part = dict(out.get(namespace) or {})
        for key in keys:
            if key in out:
                value = out.pop(key)
                if value is not None:  # None meant "not set": the models' defaults say so
                    part[key] = value
        if part:
            out[namespace] = part
    return out


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    for namespace in NAMESPACES:
        part = out.pop(namespace, None)
        if isinstance(part, dict):
            out.update(part)
    return out


def _convert(change: Any) -> None:
    connection = op.get_bind()
    last = -1
    while True:
        rows = connection.execute(
            sa.select(flow_state.c.person_id, flow_state.c.data)
            .where(flow_state.c.person_id > last)
            .order_by(flow_state.c.person_id).limit(BATCH)).all()
        if not rows:
            return
        updates = []
        for person_id, data in rows:
            new = change(data or {})
            if new != data:
                updates.append({"pid": person_id, "new": new})
        if updates:
            connection.execute(
                flow_state.update().where(flow_state.c.person_id == sa.bindparam("pid"))
                .values(data=sa.bindparam("new", type_=sa.JSON)), updates)
        last = rows[-1][0]


def upgrade() -> None:
    _convert(nest)


def downgrade() -> None:
    _convert(flatten)
