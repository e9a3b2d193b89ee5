"""The forge feature's table (changes followed until merged or abandoned), its queries, and how
its records apply in a unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field, SQLModel

from bot.model import PersonId
from bot.records import Record
from flows.forge.records import CheckAgain, EndWatch, Watch, WatchChange
from storage.queries import Queries
from storage.records import Personal, RecordSql, by_person, upsert
from storage.tables import _when


class ForgeWatchRow(SQLModel, table=True):
    """The change a person named with `!done LINK`, one per person; checked again at
    next_check_at while open (NULL once it ended: merged, abandoned, given to a mentor)."""

    __tablename__ = "forge_watch"
    __table_args__ = (sa.Index("ix_forge_watch_due", "next_check_at",
                               sqlite_where=sa.text("next_check_at IS NOT NULL"),
                               postgresql_where=sa.text("next_check_at IS NOT NULL")),)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    task_id: str = Field(max_length=128)
    project_id: str = Field(max_length=128)
    link: str = Field(max_length=1000)
    holder: str = Field(max_length=300)
    status: str = Field(max_length=16)
    failures: int = 0
    created_at: datetime = _when()
    next_check_at: datetime | None = _when(nullable=True)


watch_t = ForgeWatchRow.__table__  # type: ignore[attr-defined]


def _watch(row: Any) -> Watch:
    return Watch(PersonId(row.person_id), row.task_id, row.project_id, row.link, row.holder,
                 row.status, row.failures, row.created_at, row.next_check_at)


class ForgeQueries(Queries):
    async def watch_of(self, person_id: PersonId) -> Watch | None:
        row = await self._one(sa.select(watch_t).where(watch_t.c.person_id == person_id))
        return None if row is None else _watch(row)

    async def due_watches(self, now: datetime, limit: int = 50) -> list[Watch]:
        rows = await self._all(sa.select(watch_t).where(
            watch_t.c.next_check_at.is_not(None), watch_t.c.next_check_at <= now)
            .order_by(watch_t.c.next_check_at).limit(limit))
        return [_watch(r) for r in rows]


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case WatchChange():
            upsert(conn, watch_t, {"person_id": record.person_id}, {
                "task_id": record.task_id, "project_id": record.project_id,
                "link": record.link[:1000], "holder": record.holder[:300],
                "status": "watching", "failures": 0, "created_at": record.at,
                "next_check_at": record.next_check_at})
        case CheckAgain():
            conn.execute(sa.update(watch_t).where(
                watch_t.c.person_id == record.person_id, watch_t.c.link == record.link,
                watch_t.c.status == "watching").values(
                failures=record.failures, next_check_at=record.next_check_at))
        case EndWatch():
            conn.execute(sa.update(watch_t).where(
                watch_t.c.person_id == record.person_id, watch_t.c.link == record.link).values(
                status=record.outcome, next_check_at=None))


def _move_person(conn: Connection, source: int, target: int) -> None:
    """A merge of two people keeps the target's watch, else takes the source's."""
    has = conn.execute(sa.select(watch_t.c.person_id).where(
        watch_t.c.person_id == target)).first()
    if has is None:
        conn.execute(sa.update(watch_t).where(watch_t.c.person_id == source).values(
            person_id=target))
    else:
        conn.execute(sa.delete(watch_t).where(watch_t.c.person_id == source))


RECORDS = RecordSql(apply=dict.fromkeys((WatchChange, CheckAgain, EndWatch), _apply),
                    safe=frozenset({WatchChange, CheckAgain, EndWatch}),
                    moves=(_move_person,),
                    # The change a person named, and who named it: theirs (!mydata, !forget).
                    personal=(Personal(watch_t, ("person_id", "holder"), by_person()),))
