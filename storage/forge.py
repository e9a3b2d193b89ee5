"""The forge feature's tables (changes followed until merged or abandoned; people's linked forge
accounts with their contributor metrics), their queries, and how its records apply in a unit of
work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import PersonId
from bot.records import Record
from flows.forge.records import (
    METRICS,
    WINDOWS,
    CheckAgain,
    EndWatch,
    ForgeLink,
    ForgeMetrics,
    LinkForge,
    UnlinkForge,
    VerifyForge,
    Watch,
    WatchChange,
)
from storage.queries import Queries
from storage.records import Personal, RecordSql, by_person, move_rows, upsert
from storage.tables import Table, _when, partial


class ForgeWatchRow(Table, table=True):
    """The change a person named with `!done LINK`, one per person; checked again at
    next_check_at while open (NULL once it ended: merged, abandoned, given to a mentor)."""

    __tablename__ = "forge_watch"
    __table_args__ = (sa.Index("ix_forge_watch_due", "next_check_at",
                               **partial("next_check_at IS NOT NULL")),)
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
COUNTS = tuple(f"{metric}_{weeks}" for metric in METRICS for weeks in WINDOWS)


class ForgeLinkRow(Table, table=True):
    """A person's account on a forge (`!forge github NAME`): verified once the code was found
    in their profile there; then its contributor metrics, read again at metrics_next_at by a
    due job (NULL while unverified)."""

    __tablename__ = "forge_link"
    __table_args__ = (sa.Index("ix_forge_link_due", "metrics_next_at",
                               **partial("metrics_next_at IS NOT NULL")),)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    forge: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    username: str = Field(max_length=200)
    code: str = Field(max_length=32)
    created_at: datetime = _when()
    verified_at: datetime | None = _when(nullable=True)
    merged_4: int | None = None
    merged_52: int | None = None
    reviews_4: int | None = None
    reviews_52: int | None = None
    closed_4: int | None = None
    closed_52: int | None = None
    metrics_at: datetime | None = _when(nullable=True)
    metrics_next_at: datetime | None = _when(nullable=True)
    metrics_error: str = Field(default="", max_length=300)


link_t = ForgeLinkRow.__table__  # type: ignore[attr-defined]


def _watch(row: Any) -> Watch:
    return Watch(PersonId(row.person_id), row.task_id, row.project_id, row.link, row.holder,
                 row.status, row.failures, row.created_at, row.next_check_at)


def _link(row: Any) -> ForgeLink:
    return ForgeLink(PersonId(row.person_id), row.forge, row.kind, row.username, row.code,
                     row.created_at, row.verified_at, {c: row._mapping[c] for c in COUNTS},
                     row.metrics_at, row.metrics_next_at, row.metrics_error)


class ForgeQueries(Queries):
    async def forge_links(self, person_id: PersonId) -> list[ForgeLink]:
        rows = await self._all(sa.select(link_t).where(link_t.c.person_id == person_id)
                               .order_by(link_t.c.forge))
        return [_link(r) for r in rows]

    async def due_forge_metrics(self, now: datetime, limit: int = 20) -> list[ForgeLink]:
        rows = await self._all(sa.select(link_t).where(
            link_t.c.metrics_next_at.is_not(None), link_t.c.metrics_next_at <= now)
            .order_by(link_t.c.metrics_next_at).limit(limit))
        return [_link(r) for r in rows]

    async def forge_activity(self) -> list[ForgeLink]:
        """Every verified link with its last numbers (the retention report)."""
        rows = await self._all(sa.select(link_t).where(link_t.c.verified_at.is_not(None))
                               .order_by(link_t.c.person_id, link_t.c.forge))
        return [_link(r) for r in rows]

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
        case LinkForge():
            upsert(conn, link_t, {"person_id": record.person_id, "forge": record.forge}, {
                "kind": record.kind, "username": record.username[:200], "code": record.code,
                "created_at": record.at, "verified_at": None, "metrics_at": None,
                "metrics_next_at": None, "metrics_error": "", **dict.fromkeys(COUNTS)})
        case VerifyForge():
            # Only the account the code was asked for (not one linked again meanwhile).
            conn.execute(sa.update(link_t).where(
                link_t.c.person_id == record.person_id, link_t.c.forge == record.forge,
                link_t.c.username == record.username).values(
                verified_at=record.at, metrics_next_at=record.at))
        case UnlinkForge():
            conn.execute(sa.delete(link_t).where(link_t.c.person_id == record.person_id,
                                                 link_t.c.forge == record.forge))
        case ForgeMetrics():
            values: dict[str, Any] = {"metrics_next_at": record.next_at,
                                      "metrics_error": record.error[:300]}
            if record.counts is not None:
                values |= {"metrics_at": record.at,
                           **{c: record.counts.get(c) for c in COUNTS}}
            conn.execute(sa.update(link_t).where(
                link_t.c.person_id == record.person_id, link_t.c.forge == record.forge,
                link_t.c.username == record.username,
                link_t.c.verified_at.is_not(None)).values(**values))


def _move_person(conn: Connection, source: int, target: int) -> None:
    """A merge of two people keeps the target's watch, else takes the source's; and the
    target's link on each forge, else the source's."""
    move_rows(conn, link_t, source, target, key="forge")
    move_rows(conn, watch_t, source, target)


KINDS = (WatchChange, CheckAgain, EndWatch, LinkForge, VerifyForge, UnlinkForge, ForgeMetrics)
RECORDS = RecordSql(apply=dict.fromkeys(KINDS, _apply),
                    safe=frozenset(KINDS),
                    moves=(_move_person,),
                    # The change a person named, and who named it: theirs (!mydata, !forget);
                    # their forge accounts, the codes and the numbers read from the forges.
                    personal=(Personal(watch_t, ("person_id", "holder"), by_person()),
                              Personal(link_t, ("person_id", "username", "code", *COUNTS),
                                       by_person())))
