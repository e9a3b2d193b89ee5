"""The tracker feature's tables: the cache of live tasks (tracker_task) and each source's
refresh standing (tracker_source), their queries, and how its records apply."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.records import Record
from flows.tracker.records import LiveTask, SourceStanding, TaskGone
from storage.queries import Queries
from storage.records import RecordSql, bind, upsert
from storage.tables import Table, _when


class TrackerSourceRow(Table, table=True):
    __tablename__ = "tracker_source"
    source_key: str = Field(primary_key=True, max_length=160)
    project_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    refreshed_at: datetime | None = _when(nullable=True)
    tried_at: datetime | None = _when(nullable=True)
    error: str = Field(default="", max_length=500)
    next_at: datetime | None = _when(nullable=True)
    open_tasks: int = 0
    etag: str = Field(default="", max_length=200)


class TrackerTaskRow(Table, table=True):
    __tablename__ = "tracker_task"
    __table_args__ = (
        # A hand-off reads a project's open tasks in the trackers' order.
        sa.Index("ix_tracker_task_project", "project_id", "is_open", "position"),
    )
    task_id: str = Field(primary_key=True, max_length=128)
    source_key: str = Field(max_length=160, index=True)
    project_id: str = Field(max_length=128)
    native_id: str = Field(max_length=64)
    title: str = Field(max_length=500)
    url: str = Field(default="", max_length=1000)
    skills: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))
    position: int = 0
    is_open: bool = True


source_t = TrackerSourceRow.__table__  # type: ignore[attr-defined]
task_t = TrackerTaskRow.__table__  # type: ignore[attr-defined]


def _task(row: Any) -> LiveTask:
    return LiveTask(row.task_id, row.source_key, row.project_id, row.native_id, row.title,
                    row.url, tuple(row.skills or ()), row.position)


def _standing(row: Any) -> SourceStanding:
    return SourceStanding(row.source_key, row.project_id, row.kind, row.refreshed_at,
                          row.tried_at, row.error, row.next_at, row.open_tasks, row.etag)


class TrackerQueries(Queries):
    async def open_live_tasks(self, project_id: str) -> list[LiveTask]:
        rows = await self._all(sa.select(task_t).where(
            task_t.c.project_id == project_id, task_t.c.is_open)
            .order_by(task_t.c.source_key, task_t.c.position))
        return [_task(r) for r in rows]

    async def best_live_tasks(self, project_id: str, sources: Collection[str],
                              wanted: Collection[str], skip: Collection[str],
                              limit: int) -> list[LiveTask]:
        """A project's open cached tasks of these sources, not in `skip`, the most of the
        `wanted` skills first, then by source and the tracker's order: ranked by the
        database (one row per candidate would be thousands for a big tracker)."""
        if not sources:
            return []
        skills = sa.cast(task_t.c.skills, sa.Text)
        score: sa.ColumnElement[int] = sa.literal(0)
        for skill in sorted({w.strip().lower() for w in wanted if w.strip()}):
            score = score + sa.case((skills.like(_like_json(skill), escape="\\"), 1), else_=0)
        query = (sa.select(task_t).where(
            task_t.c.project_id == project_id, task_t.c.is_open,
            task_t.c.source_key.in_(list(sources)))
            .order_by(score.desc(), task_t.c.source_key, task_t.c.position).limit(limit))
        if skip:
            query = query.where(task_t.c.task_id.not_in(list(skip)))
        return [_task(r) for r in await self._all(query)]

    async def live_task(self, task_id: str) -> LiveTask | None:
        row = await self._one(sa.select(task_t).where(task_t.c.task_id == task_id))
        return None if row is None else _task(row)

    async def source_standings(self) -> list[SourceStanding]:
        rows = await self._all(sa.select(source_t).order_by(source_t.c.source_key))
        return [_standing(r) for r in rows]

    async def replace_live_tasks(self, standing: SourceStanding,
                                 tasks: Sequence[LiveTask] | None) -> None:
        """A good read of a source: its standing, and (unless unchanged) all its tasks."""
        key = standing.source_key

        def job(conn: Connection) -> None:
            if tasks is not None:
                conn.execute(sa.delete(task_t).where(task_t.c.source_key == key))
                # Another source (a renamed one, or two projects sharing an id) must not
                # keep the row: its id is the task's, the newest read wins.
                ids = [t.task_id for t in tasks]
                for start in range(0, len(ids), 500):
                    conn.execute(sa.delete(task_t).where(
                        task_t.c.task_id.in_(ids[start:start + 500])))
                if tasks:
                    conn.execute(sa.insert(task_t), [
                        {"task_id": t.task_id, "source_key": key, "project_id": t.project_id,
                         "native_id": t.native_id, "title": t.title[:500], "url": t.url[:1000],
                         "skills": list(t.skills), "position": t.position, "is_open": True}
                        for t in tasks])
            _put_standing(conn, standing)

        await self.writer.run(job)

    async def source_failed(self, standing: SourceStanding) -> None:
        """A failed read: the standing says why; the cached tasks stay as they were."""

        def job(conn: Connection) -> None:
            _put_standing(conn, standing)

        await self.writer.run(job)

    async def forget_sources(self, keep: Sequence[str]) -> int:
        """Sources no longer in the content: their standing and cached tasks go."""

        def job(conn: Connection) -> int:
            gone = [r.source_key for r in conn.execute(sa.select(source_t.c.source_key))
                    if r.source_key not in keep]
            for key in gone:
                conn.execute(sa.delete(task_t).where(task_t.c.source_key == key))
                conn.execute(sa.delete(source_t).where(source_t.c.source_key == key))
            return len(gone)

        forgotten: int = await self.writer.run(job)
        return forgotten


def _like_json(skill: str) -> str:
    """A LIKE pattern finding the skill as one string of a JSON list (as stored)."""
    quoted = json.dumps(skill)
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _put_standing(conn: Connection, standing: SourceStanding) -> None:
    upsert(conn, source_t, {"source_key": standing.source_key}, {
        "project_id": standing.project_id, "kind": standing.kind,
        "refreshed_at": standing.refreshed_at, "tried_at": standing.tried_at,
        "error": standing.error[:500], "next_at": standing.next_at,
        "open_tasks": standing.open_tasks, "etag": standing.etag[:200]})


_GONE = sa.update(task_t).where(task_t.c.task_id == bind("task")).values(is_open=False)


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case TaskGone():
            conn.execute(_GONE, {"b_task": record.task_id})


RECORDS = RecordSql(apply={TaskGone: _apply}, safe=frozenset({TaskGone}))
