"""The path feature's tables (task claims, certificates), its queries, and how its records
apply in a unit of work."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.codes import normalise_code
from bot.model import PersonId
from bot.records import Record
from flows.path.records import (
    Certificate,
    ClaimTask,
    EndClaim,
    FeedbackGroup,
    FeedbackRow,
    GiveFeedback,
    NameHolder,
    RevokeCertificate,
    TaskClaim,
    TaskHandOuts,
    TouchClaim,
)
from storage.bulk import sqlite_when
from storage.database import sqlite_execute
from storage.queries import Queries
from storage.records import Personal, PersonRef, RecordSql, bind, by_person
from storage.tables import Table, _when, partial


class TaskClaimRow(Table, table=True):
    __tablename__ = "task_claim"
    __table_args__ = (
        # A task goes to one person at a time, and a person holds one task at a time.
        sa.Index("uq_task_claim_active_task", "task_id", unique=True,
                 **partial("ended_at IS NULL")),
        sa.Index("uq_task_claim_active_person", "person_id", unique=True,
                 **partial("ended_at IS NULL")),
        # The idle-claim scan reads only active claims, oldest activity first.
        sa.Index("ix_task_claim_idle", "last_activity_at",
                 **partial("ended_at IS NULL")),
        # A first-task offer reads one project's held and finished tasks (path_0002).
        sa.Index("ix_task_claim_project_task", "project_id", "task_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    task_id: str = Field(max_length=128)
    project_id: str = Field(max_length=128)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    claimed_at: datetime = _when()
    last_activity_at: datetime = _when()
    ended_at: datetime | None = _when(nullable=True)
    outcome: str = Field(default="", max_length=16)


class CertificateRow(Table, table=True):
    __tablename__ = "certificate"
    code: str = Field(primary_key=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    holder: str = Field(max_length=255)
    workshop_id: str = Field(max_length=128)
    workshop_title: str = Field(max_length=255)
    issued_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True)
    revoked_reason: str = Field(default="", max_length=500,
                                sa_column_kwargs={"server_default": ""})
    revoked_by: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})


class FeedbackTableRow(Table, table=True):
    __tablename__ = "feedback"
    __table_args__ = (sa.Index("ix_feedback_kind_project", "kind", "project_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)  # motive | step | task
    project_id: str = Field(max_length=128)
    subject: str = Field(max_length=300)
    score: int | None = None
    answer: str = Field(max_length=64)
    comment: str = Field(max_length=1000)
    at: datetime = _when()


claim_t = TaskClaimRow.__table__  # type: ignore[attr-defined]
cert_t = CertificateRow.__table__  # type: ignore[attr-defined]
feedback_t = FeedbackTableRow.__table__  # type: ignore[attr-defined]
_active = claim_t.c.ended_at.is_(None)
# Built once: a first-task offer reads it, and building the statement cost more than its
# query on the event loop (SQLAlchemy caches the compiled SQL, not the Python objects).
_HAND_OUTS = (sa.select(claim_t.c.task_id, _active.label("active")).distinct()
              .where(sa.or_(_active, claim_t.c.outcome == "done")))
_HAND_OUTS_OF = _HAND_OUTS.where(claim_t.c.project_id == sa.bindparam("project"))


def _claim(row: Any) -> TaskClaim:
    return TaskClaim(row.task_id, row.project_id, PersonId(row.person_id), row.claimed_at,
                     row.last_activity_at)


def _certificate(row: Any) -> Certificate:
    return Certificate(row.code, PersonId(row.person_id), row.holder, row.workshop_id,
                       row.workshop_title, row.issued_at, row.revoked_at, row.revoked_reason,
                       row.revoked_by)


# How long a process trusts the hand-outs it read (SQLite: see _KnownHandOuts): another
# process on the same file (a command-line run) may claim or release meanwhile.
HAND_OUTS_TRUSTED = 5.0  # seconds
# Records after which the hand-outs kept in memory are read anew (people forgotten too).
_CHANGE_HAND_OUTS = (ClaimTask, EndClaim)


@dataclass
class _KnownHandOuts:
    """The hand-outs of each project as last read, on SQLite only: there one bot process owns
    the file (DESIGN, "Several processes": a second one refuses to start), and every claim it
    makes or ends, and every person it forgets, goes through its store's group writer, which
    drops them once the unit is written, committed or refused (`written`), even when the turn
    that wrote it no longer waits. Every first-task offer asks; reading them was an
    executor round trip and a query each time (bench.core: ~150 µs on a reader thread and
    ~25 µs on the event loop, about 1 message in 10). On PostgreSQL several processes claim
    from one table, and DESIGN keeps no such cache there: read every time."""

    found: dict[str | None, tuple[float, TaskHandOuts]] = field(default_factory=dict)
    # Goes up when they are dropped: a read begun before must not keep its older answer.
    version: int = 0

    def drop(self) -> None:
        self.version += 1
        self.found.clear()


class PathQueries(Queries):
    _known_hand_outs: _KnownHandOuts | None = None

    def written(self, records: Sequence[Record]) -> None:
        super().written(records)
        known = self._known_hand_outs
        if known is not None and any(
                isinstance(r, _CHANGE_HAND_OUTS) or r.forgets() for r in records):
            known.drop()

    async def active_claim(self, person_id: PersonId) -> TaskClaim | None:
        row = await self._one(sa.select(claim_t).where(claim_t.c.person_id == person_id, _active))
        return None if row is None else _claim(row)

    async def claimed_task_ids(self) -> set[str]:
        return {r.task_id for r in await self._all(sa.select(claim_t.c.task_id).where(_active))}

    async def task_hand_outs(self, project_id: str | None = None) -> TaskHandOuts:
        known = self._known_hand_outs
        if known is None and self.db.is_sqlite:
            known = self._known_hand_outs = _KnownHandOuts()
        if known is not None:
            kept = known.found.get(project_id)
            if kept is not None and time.monotonic() - kept[0] < HAND_OUTS_TRUSTED:
                return kept[1]
            version, began = known.version, time.monotonic()
        if project_id is None:
            rows = await self._all(_HAND_OUTS)
        else:
            rows = await self.db.read(
                lambda conn: list(conn.execute(_HAND_OUTS_OF, {"project": project_id})))
        found = TaskHandOuts(frozenset(r.task_id for r in rows if r.active),
                             frozenset(r.task_id for r in rows if not r.active))
        if known is not None and known.version == version:
            known.found[project_id] = (began, found)
        return found

    async def finished_task_ids(self, person_id: PersonId) -> set[str]:
        rows = await self._all(sa.select(claim_t.c.task_id).where(
            claim_t.c.person_id == person_id, claim_t.c.outcome == "done"))
        return {r.task_id for r in rows}

    async def idle_claims(self, before: datetime) -> list[TaskClaim]:
        rows = await self._all(sa.select(claim_t).where(
            _active, claim_t.c.last_activity_at < before)
            .order_by(claim_t.c.last_activity_at).limit(500))
        return [_claim(r) for r in rows]

    async def certificate(self, code: str) -> Certificate | None:
        row = await self._one(sa.select(cert_t).where(cert_t.c.code == normalise_code(code)))
        return None if row is None else _certificate(row)

    async def certificates_of(self, person_id: PersonId) -> list[Certificate]:
        rows = await self._all(sa.select(cert_t).where(cert_t.c.person_id == person_id)
                               .order_by(cert_t.c.issued_at))
        return [_certificate(r) for r in rows]

    async def feedback_groups(self, since: datetime | None = None,
                              until: datetime | None = None) -> list[FeedbackGroup]:
        """Feedback counted per kind, project, subject and answer: ratings with their sum
        and how many gave each score (1-5); motives by answer."""
        score = feedback_t.c.score
        query = (sa.select(feedback_t.c.kind, feedback_t.c.project_id, feedback_t.c.subject,
                           feedback_t.c.answer, sa.func.count().label("n"),
                           sa.func.coalesce(sa.func.sum(score), 0).label("total"),
                           *(sa.func.sum(sa.case((score == value, 1), else_=0))
                             .label(f"s{value}") for value in range(1, 6)))
                 .where(*_within(since, until))
                 .group_by(feedback_t.c.kind, feedback_t.c.project_id, feedback_t.c.subject,
                           feedback_t.c.answer)
                 .order_by(feedback_t.c.kind, feedback_t.c.project_id, feedback_t.c.subject,
                           feedback_t.c.answer))
        return [FeedbackGroup(r.kind, r.project_id, r.subject, r.answer, int(r.n),
                              int(r.total), tuple(int(getattr(r, f"s{v}") or 0)
                                                  for v in range(1, 6)))
                for r in await self._all(query)]

    async def feedback_comments(self, since: datetime | None = None,
                                until: datetime | None = None,
                                limit: int = 200) -> list[FeedbackRow]:
        """The newest `limit` comments (and motives in their own words), no person named,
        newest first."""
        query = (sa.select(feedback_t.c.kind, feedback_t.c.project_id, feedback_t.c.subject,
                           feedback_t.c.score, feedback_t.c.answer, feedback_t.c.comment,
                           feedback_t.c.at)
                 .where(feedback_t.c.comment != "", *_within(since, until))
                 .order_by(feedback_t.c.at.desc(), feedback_t.c.id.desc()).limit(limit))
        return [FeedbackRow(r.kind, r.project_id, r.subject, r.score, r.answer, r.comment,
                            r.at) for r in await self._all(query)]


def _within(since: datetime | None, until: datetime | None) -> list[sa.ColumnElement[bool]]:
    return [*([feedback_t.c.at >= since] if since is not None else []),
            *([feedback_t.c.at < until] if until is not None else [])]


# Built once: a statement object per call would be compiled-cache-keyed again every time.
_CLAIM = sa.insert(claim_t)
_END_CLAIM = sa.update(claim_t).where(
    claim_t.c.person_id == bind("person"), claim_t.c.task_id == bind("task"), _active,
).values(ended_at=bind("at"), outcome=bind("outcome"))
_TOUCH_CLAIM = sa.update(claim_t).where(claim_t.c.person_id == bind("person"), _active).values(
    last_activity_at=bind("at"))
_CERTIFICATE = sa.insert(cert_t)
# On SQLite straight to the driver: through Core the insert cost ~100 µs on the writer thread
# (cProfile, bench.core: one a workshop done, ~1 in 20 messages). A taken code still raises
# IntegrityError (sqlite_execute wraps the driver's), so the unit fails with ConflictError.
_CERTIFICATE_SQLITE = (
    "INSERT INTO certificate (code, person_id, holder, workshop_id, workshop_title, "
    "issued_at, revoked_at, revoked_reason, revoked_by) VALUES (?, ?, ?, ?, ?, ?, NULL, '', '')")
_NAME_HOLDER = sa.update(cert_t).where(
    cert_t.c.person_id == bind("person"), cert_t.c.revoked_at.is_(None)).values(
    holder=bind("holder"))
_REVOKE = sa.update(cert_t).where(cert_t.c.code == bind("code")).values(
    revoked_at=bind("at"), revoked_reason=bind("reason"), revoked_by=bind("by"))
_FEEDBACK = sa.insert(feedback_t)


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case ClaimTask():
            conn.execute(_CLAIM, {"task_id": record.task_id, "project_id": record.project_id,
                                  "person_id": record.person_id, "claimed_at": record.at,
                                  "last_activity_at": record.at, "outcome": ""})
        case EndClaim():
            conn.execute(_END_CLAIM, {"b_person": record.person_id, "b_task": record.task_id,
                                      "b_at": record.at, "b_outcome": record.outcome})
        case TouchClaim():
            conn.execute(_TOUCH_CLAIM, {"b_person": record.person_id, "b_at": record.at})
        case Certificate() if conn.dialect.name == "sqlite":
            sqlite_execute(conn, _CERTIFICATE_SQLITE, (
                record.code, record.person_id, record.holder, record.workshop_id,
                record.workshop_title, sqlite_when(record.issued_at)))
        case Certificate():
            conn.execute(_CERTIFICATE, {
                "code": record.code, "person_id": record.person_id, "holder": record.holder,
                "workshop_id": record.workshop_id, "workshop_title": record.workshop_title,
                "issued_at": record.issued_at, "revoked_at": None, "revoked_reason": "",
                "revoked_by": ""})
        case NameHolder():
            conn.execute(_NAME_HOLDER, {"b_person": record.person_id,
                                        "b_holder": record.holder[:255]})
        case RevokeCertificate():
            conn.execute(_REVOKE, {"b_code": normalise_code(record.code), "b_at": record.at,
                                   "b_reason": record.reason[:500], "b_by": record.by[:300]})
        case GiveFeedback():
            conn.execute(_FEEDBACK, {
                "person_id": record.person_id, "kind": record.kind,
                "project_id": record.project_id[:128], "subject": record.subject[:300],
                "score": record.score, "answer": record.answer[:64],
                "comment": record.comment[:1000], "at": record.at})


def _move_person(conn: Connection, source: int, target: int) -> None:
    for table in (claim_t, cert_t, feedback_t):
        conn.execute(sa.update(table).where(table.c.person_id == source).values(
            person_id=target))


def _certificates_about(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool]:
    """Their certificates, and those they revoked as an admin."""
    return sa.or_(table.c.person_id == ref.person_id, table.c.revoked_by.in_(ref.keys))


def _erase_certificates(conn: Connection, table: sa.Table, ref: PersonRef) -> int:
    """Their certificates go; on one they revoked, only their name."""
    gone = int(conn.execute(sa.delete(table).where(table.c.person_id == ref.person_id))
               .rowcount)
    return gone + int(conn.execute(sa.update(table).where(table.c.revoked_by.in_(ref.keys))
                                   .values(revoked_by="")).rowcount)


RECORDS = RecordSql(apply=dict.fromkeys((ClaimTask, EndClaim, TouchClaim, Certificate,
                                         NameHolder, RevokeCertificate, GiveFeedback),
                                        _apply),
                    # Updates of a person's own rows cannot break a uniqueness rule.
                    safe=frozenset({EndClaim, TouchClaim, NameHolder, RevokeCertificate,
                                    GiveFeedback}),
                    moves=(_move_person,),
                    # A certificate names its holder: forgetting them removes it (README,
                    # "Privacy": an anonymous record could not show who earned it).
                    personal=(Personal(claim_t, ("person_id",), by_person()),
                              Personal(cert_t, ("person_id", "holder", "revoked_by"),
                                       _certificates_about, erase=_erase_certificates,
                                       shown=by_person()),
                              Personal(feedback_t, ("person_id",), by_person())))
