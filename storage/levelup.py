"""The levelup feature's table (who was invited to mentor, their answer, the approval), its
queries, and how its records apply in a unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import PersonId
from bot.records import Record
from flows.levelup.records import AnswerInvite, ApproveMentor, InviteToMentor, Levelup
from storage.queries import Queries
from storage.records import Personal, RecordSql, by_person, event_t, move_rows
from storage.tables import Table, _when


class LevelupRow(Table, table=True):
    """One row per person ever invited to mentor (the invitation goes once)."""

    __tablename__ = "levelup"
    __table_args__ = (sa.Index("ix_levelup_status", "status"),)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    project_id: str = Field(max_length=128)
    status: str = Field(max_length=16)
    identity_key: str = Field(default="", max_length=300)
    tasks_done: int = 0
    invited_at: datetime = _when()
    answered_at: datetime | None = _when(nullable=True)
    approved_by: str = Field(default="", max_length=300)
    approved_at: datetime | None = _when(nullable=True)


levelup_t = LevelupRow.__table__  # type: ignore[attr-defined]


def _levelup(row: Any) -> Levelup:
    return Levelup(PersonId(row.person_id), row.project_id, row.status, row.identity_key,
                   row.tasks_done, row.invited_at, row.answered_at, row.approved_by,
                   row.approved_at)


class LevelupQueries(Queries):
    async def levelup_candidates(self, tasks_needed: int, limit: int) -> list[PersonId]:
        # Counted from the progress events (ix_progress_event_person_kind), leaving out
        # everyone already invited.
        rows = await self._all(
            sa.select(event_t.c.person_id).where(
                event_t.c.kind == "task_done",
                ~sa.exists(sa.select(levelup_t.c.person_id).where(
                    levelup_t.c.person_id == event_t.c.person_id)))
            .group_by(event_t.c.person_id).having(sa.func.count() >= tasks_needed)
            .order_by(event_t.c.person_id).limit(limit))
        return [PersonId(r.person_id) for r in rows]

    async def levelup_of(self, person_id: PersonId) -> Levelup | None:
        row = await self._one(sa.select(levelup_t).where(levelup_t.c.person_id == person_id))
        return None if row is None else _levelup(row)

    async def levelups(self, status: str) -> list[Levelup]:
        rows = await self._all(sa.select(levelup_t).where(levelup_t.c.status == status)
                               .order_by(levelup_t.c.person_id))
        return [_levelup(r) for r in rows]


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case InviteToMentor():
            conn.execute(sa.insert(levelup_t).values(
                person_id=record.person_id, project_id=record.project_id,
                status=record.status, identity_key="", tasks_done=record.tasks_done,
                invited_at=record.at, approved_by=""))
        case AnswerInvite():
            conn.execute(sa.update(levelup_t).where(
                levelup_t.c.person_id == record.person_id).values(
                status=record.answer, identity_key=record.identity_key[:300],
                answered_at=record.at))
        case ApproveMentor():
            conn.execute(sa.update(levelup_t).where(
                levelup_t.c.person_id == record.person_id).values(
                status="approved", approved_by=record.by[:300], approved_at=record.at))


def _move_person(conn: Connection, source: int, target: int) -> None:
    """A merge keeps the target's way to mentoring, else takes the source's."""
    move_rows(conn, levelup_t, source, target)


RECORDS = RecordSql(
    apply=dict.fromkeys((InviteToMentor, AnswerInvite, ApproveMentor), _apply),
    safe=frozenset({AnswerInvite, ApproveMentor}),
    moves=(_move_person,),
    # Their invitation, answer and the identity they mentor with: theirs (!mydata, !forget).
    personal=(Personal(levelup_t, ("person_id", "identity_key", "approved_by"), by_person()),))
