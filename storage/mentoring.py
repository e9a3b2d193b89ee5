"""The mentoring feature's tables (help cases, mentors' state and assignments, nudges), its
queries, and how its records apply in a unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import Identity, PersonId
from bot.records import Record
from flows.mentoring.records import (
    AddMentor,
    Case,
    ClaimCase,
    ClearNudge,
    MentorAway,
    MentorState,
    Nudge,
    OpenCase,
    PingCase,
    ReleaseCase,
    RemoveMentor,
    ResolveCase,
    SetMentorHours,
    SetNudge,
)
from storage.bulk import BulkSql
from storage.queries import Queries
from storage.records import (
    Expiring,
    Personal,
    PersonRef,
    RecordSql,
    by_identity,
    by_person,
    expect_one,
    identity_t,
    upsert,
)
from storage.tables import Table, _when, partial


class HelpCase(Table, table=True):
    __tablename__ = "help_case"
    __table_args__ = (
        # One open request per newcomer at a time.
        sa.Index("uq_help_case_active_person", "person_id", unique=True,
                 **partial("status IN ('open', 'claimed')")),
        # The escalation scan reads only cases that are due.
        sa.Index("ix_help_case_escalate_at", "escalate_at",
                 **partial("escalate_at IS NOT NULL")),
        sa.Index("ix_help_case_mentor", "mentor_key", "status"),
    )
    code: str = Field(primary_key=True, max_length=16)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    newcomer: str = Field(max_length=300)
    project_id: str = Field(max_length=128)
    subject: str = Field(max_length=300)
    reason: str = Field(default="", max_length=500)
    source: str = Field(max_length=16)
    status: str = Field(default="open", max_length=16)
    level: int = 0
    mentor_key: str = Field(default="", max_length=300)
    claimed_by: str = Field(default="", max_length=300)
    tried: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))
    note: str = Field(default="", max_length=500)
    created_at: datetime = _when()
    pinged_at: datetime | None = _when(nullable=True)
    claimed_at: datetime | None = _when(nullable=True)
    resolved_at: datetime | None = _when(nullable=True)
    escalate_at: datetime | None = _when(nullable=True)


class MentorStateRow(Table, table=True):
    __tablename__ = "mentor_state"
    mentor_key: str = Field(primary_key=True, max_length=300)
    away_until: datetime | None = _when(nullable=True)
    last_assigned_at: datetime | None = _when(nullable=True)


class MentorAssignment(Table, table=True):
    """Mentors added by an admin in chat, on top of those in content."""

    __tablename__ = "mentor_assignment"
    project_id: str = Field(primary_key=True, max_length=128)
    identity_key: str = Field(primary_key=True, max_length=300)


class MentorHoursRow(Table, table=True):
    """Office hours a mentor set in chat (`!hours`), over their profile's in mentors.toml
    (migrations/mentoring/0001)."""

    __tablename__ = "mentor_hours"
    mentor_key: str = Field(primary_key=True, max_length=300)
    hours: str = Field(max_length=200)
    timezone: str = Field(max_length=64)
    set_at: datetime = _when()


class NudgeRow(Table, table=True):
    """When to ask a person whether they want help; NULL once asked (it fires once)."""

    __tablename__ = "nudge"
    __table_args__ = (sa.Index("ix_nudge_due_at", "due_at",
                               **partial("due_at IS NOT NULL")),)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    subject: str = Field(max_length=300)
    project_id: str = Field(max_length=128)
    due_at: datetime | None = _when(nullable=True)


case_t = HelpCase.__table__  # type: ignore[attr-defined]
mentor_state_t = MentorStateRow.__table__  # type: ignore[attr-defined]
assignment_t = MentorAssignment.__table__  # type: ignore[attr-defined]
nudge_t = NudgeRow.__table__  # type: ignore[attr-defined]
hours_t = MentorHoursRow.__table__  # type: ignore[attr-defined]
_ACTIVE_CASE = case_t.c.status.in_(("open", "claimed"))


def _case(row: Any) -> Case:
    return Case(row.code, PersonId(row.person_id), row.newcomer, row.project_id, row.subject,
                row.reason, row.source, row.status, row.level, row.mentor_key, row.claimed_by,
                tuple(row.tried), row.created_at, row.claimed_at, row.resolved_at,
                row.escalate_at)


class MentoringQueries(Queries):
    async def case(self, code: str) -> Case | None:
        row = await self._one(sa.select(case_t).where(case_t.c.code == code.strip().upper()))
        return None if row is None else _case(row)

    async def open_case_of(self, person_id: PersonId) -> Case | None:
        row = await self._one(sa.select(case_t).where(case_t.c.person_id == person_id,
                                                       _ACTIVE_CASE))
        return None if row is None else _case(row)

    async def cases_of_mentor(self, mentor_key: str) -> list[Case]:
        """Cases a mentor holds, or was pinged for and nobody has claimed yet."""
        rows = await self._all(sa.select(case_t).where(_ACTIVE_CASE, sa.or_(
            case_t.c.claimed_by == mentor_key,
            sa.and_(case_t.c.status == "open", case_t.c.mentor_key == mentor_key),
        )).order_by(case_t.c.created_at))
        return [_case(r) for r in rows]

    async def mentor_loads(self) -> dict[str, int]:
        """Open mentees per mentor: cases claimed by them, or pinged to them and unclaimed."""
        holder = sa.case((case_t.c.status == "claimed", case_t.c.claimed_by),
                         else_=case_t.c.mentor_key)
        rows = await self._all(sa.select(holder, sa.func.count()).where(_ACTIVE_CASE)
                               .group_by(holder))
        return {r[0]: int(r[1]) for r in rows if r[0]}

    async def person_of(self, identity: Identity) -> PersonId | None:
        """Who an account (a mentor's, an organizer's) is, if it has written to the bot;
        None otherwise (nobody is created)."""
        row = await self._one(sa.select(identity_t.c.person_id).where(
            identity_t.c.network == identity.network,
            identity_t.c.external_id == identity.external_id))
        return None if row is None else PersonId(row.person_id)

    async def mentor_states(self) -> dict[str, MentorState]:
        rows = await self._all(sa.select(mentor_state_t))
        return {r.mentor_key: MentorState(r.away_until, r.last_assigned_at) for r in rows}

    async def mentor_hours(self) -> dict[str, tuple[str, str]]:
        rows = await self._all(sa.select(hours_t))
        return {r.mentor_key: (r.hours, r.timezone) for r in rows}

    async def mentor_assignments(self) -> list[tuple[str, str]]:
        rows = await self._all(sa.select(assignment_t).order_by(assignment_t.c.project_id))
        return [(r.project_id, r.identity_key) for r in rows]

    async def due_escalations(self, now: datetime) -> list[Case]:
        rows = await self._all(sa.select(case_t).where(
            case_t.c.escalate_at.is_not(None), case_t.c.escalate_at <= now,
            case_t.c.status == "open").order_by(case_t.c.escalate_at).limit(500))
        return [_case(r) for r in rows]

    async def due_nudges(self, now: datetime, limit: int = 500) -> list[Nudge]:
        rows = await self._all(sa.select(nudge_t).where(
            nudge_t.c.due_at.is_not(None), nudge_t.c.due_at <= now)
            .order_by(nudge_t.c.due_at).limit(limit))
        return [Nudge(PersonId(r.person_id), r.subject, r.project_id, r.due_at) for r in rows]

    async def all_cases(self) -> list[Case]:
        return [_case(r) for r in await self._all(sa.select(case_t).order_by(case_t.c.created_at))]


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case OpenCase():
            conn.execute(sa.insert(case_t).values(
                code=record.code, person_id=record.person_id, newcomer=record.newcomer,
                project_id=record.project_id, subject=record.subject[:300],
                reason=record.reason[:500], source=record.source, status="open", level=0,
                tried=[], created_at=record.at))
        case PingCase():
            expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status == "open").values(
                mentor_key=record.mentor_key, level=record.level, tried=list(record.tried),
                pinged_at=record.at, escalate_at=record.escalate_at)), "case no longer open")
            if record.level < 2 and record.mentor_key:
                upsert(conn, mentor_state_t, {"mentor_key": record.mentor_key},
                        {"last_assigned_at": record.at})
        case ClaimCase():
            expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status == "open").values(
                status="claimed", claimed_by=record.mentor_key, claimed_at=record.at,
                escalate_at=None)), "case already claimed")
        case ReleaseCase():
            expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status == "claimed",
                case_t.c.claimed_by == record.mentor_key).values(
                status="open", claimed_by="", claimed_at=None)), "case not held")
        case ResolveCase():
            expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status.in_(("open", "claimed")),
                sa.or_(case_t.c.claimed_by == record.mentor_key, case_t.c.claimed_by == ""),
            ).values(status="resolved", claimed_by=record.mentor_key, note=record.note[:500],
                     resolved_at=record.at, escalate_at=None)), "case not held")
        case MentorAway():
            upsert(conn, mentor_state_t, {"mentor_key": record.mentor_key},
                    {"away_until": record.until})
        case AddMentor():
            exists = conn.execute(sa.select(assignment_t.c.project_id).where(
                assignment_t.c.project_id == record.project_id,
                assignment_t.c.identity_key == record.identity_key)).first()
            if exists is None:
                conn.execute(sa.insert(assignment_t).values(
                    project_id=record.project_id, identity_key=record.identity_key))
        case RemoveMentor():
            conn.execute(sa.delete(assignment_t).where(
                assignment_t.c.project_id == record.project_id,
                assignment_t.c.identity_key == record.identity_key))
        case SetMentorHours():
            upsert(conn, hours_t, {"mentor_key": record.mentor_key},
                   {"hours": record.hours[:200], "timezone": record.timezone[:64],
                    "set_at": record.at})


def _upsert_nudges(conn: Connection, sql: BulkSql, rows: Sequence[tuple[Any, ...]]) -> None:
    """(person_id, subject, project_id, due_at or None) per row; None clears it."""
    statement = ("INSERT INTO nudge (person_id, subject, project_id, due_at) VALUES "
                 f"{sql._values(1, 4)} ON CONFLICT (person_id) DO UPDATE SET "
                 "subject = CASE WHEN excluded.due_at IS NULL THEN nudge.subject "
                 "ELSE excluded.subject END, "
                 "project_id = CASE WHEN excluded.due_at IS NULL THEN nudge.project_id "
                 "ELSE excluded.project_id END, due_at = excluded.due_at")
    sql.run_many(conn, statement, rows)


def _nudges(conn: Connection, sql: BulkSql, records: Sequence[SetNudge | ClearNudge]) -> None:
    nudges: dict[int, tuple[Any, ...]] = {}  # the last word of each unit per person wins
    for record in records:
        if isinstance(record, SetNudge):
            nudges[record.person_id] = (record.person_id, record.subject,
                                        record.project_id, sql.when(record.due_at))
        elif isinstance(record, ClearNudge):
            nudges[record.person_id] = (record.person_id, "", "", None)
    if nudges:
        _upsert_nudges(conn, sql, list(nudges.values()))


def _move_person(conn: Connection, source: int, target: int) -> None:
    conn.execute(sa.update(case_t).where(case_t.c.person_id == source).values(person_id=target))


def _own_cases(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool]:
    """Their own requests for help (as the newcomer)."""
    return sa.or_(table.c.person_id == ref.person_id, table.c.newcomer.in_(ref.keys))


def _case_about(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool]:
    """Their requests, and the cases they were pinged for or held as a mentor."""
    return sa.or_(_own_cases(table, ref), table.c.mentor_key.in_(ref.keys),
                  table.c.claimed_by.in_(ref.keys))


def _erase_cases(conn: Connection, table: sa.Table, ref: PersonRef) -> int:
    """Their own cases go; in a newcomer's case they held as a mentor, only their name."""
    gone = int(conn.execute(sa.delete(table).where(_own_cases(table, ref))).rowcount)
    for column in ("mentor_key", "claimed_by"):
        gone += int(conn.execute(sa.update(table).where(table.c[column].in_(ref.keys))
                                 .values({column: ""})).rowcount)
    tried = sa.cast(table.c.tried, sa.Text)
    for row in conn.execute(sa.select(table.c.code, table.c.tried).where(
            sa.or_(*(tried.contains(key, autoescape=True) for key in ref.keys)))).all():
        conn.execute(sa.update(table).where(table.c.code == row.code).values(
            tried=[k for k in row.tried if k not in ref.keys]))
        gone += 1
    return gone


_CASES = (OpenCase, PingCase, ClaimCase, ReleaseCase, ResolveCase, MentorAway, AddMentor,
          RemoveMentor, SetMentorHours)
RECORDS = RecordSql(apply=dict.fromkeys(_CASES, _apply),
                    safe=frozenset({MentorAway, AddMentor, RemoveMentor, SetMentorHours}),
                    bulk={SetNudge: _nudges, ClearNudge: _nudges},
                    moves=(_move_person,),
                    # A resolved request's words (and the mentor's note) are kept a while.
                    expiring=(Expiring(
                        "resolved_free_text", case_t, "resolved_at",
                        "words of resolved help requests",
                        clear={"subject": "", "reason": "", "note": ""},
                        where=lambda t: sa.and_(t.c.status == "resolved", sa.or_(
                            t.c.subject != "", t.c.reason != "", t.c.note != ""))),),
                    personal=(
                        Personal(case_t, ("person_id", "newcomer", "mentor_key", "claimed_by"),
                                 _case_about, erase=_erase_cases, shown=_own_cases),
                        Personal(mentor_state_t, ("mentor_key",), by_identity("mentor_key")),
                        Personal(assignment_t, ("identity_key",), by_identity("identity_key")),
                        Personal(nudge_t, ("person_id",), by_person()),
                        Personal(hours_t, ("mentor_key",), by_identity("mentor_key")),
                    ))
