"""The CRM feature's queries: one person's record, the people list, and the reports' SQL over
a summary of the progress events every turn writes: person_milestone, one row per person with
the date of each step, brought up to date before each report from the events written since
(the first time, from all of them).

The CRM writes nothing: a person's dates are the progress events of their turns, their first
seen the person row, their last seen their flow state's last write, their region what they
chose (person_standing), their merit the path's, mentoring's and events' own tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import ExternalId, Identity, Network, PersonId
from flows.crm.records import (
    CaseFact,
    CertificateFact,
    PeopleFilter,
    PersonFacts,
    PersonRow,
    RsvpFact,
    StageWhere,
    TaskFact,
    Window,
)
from storage.events import attendance_t, rsvp_t, standing_t
from storage.mentoring import case_t
from storage.path import cert_t, claim_t
from storage.queries import Queries
from storage.records import (
    Personal,
    RecordSql,
    by_person,
    event_t,
    identity_t,
    person_t,
    state_t,
)
from storage.tables import Table, _when


class MilestoneRow(Table, table=True):
    """When each person first reached each step of the funnel: the reports' summary of the
    progress events, brought up to date before each report (`refresh_milestones`)."""

    __tablename__ = "person_milestone"
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    started_at: datetime | None = _when(nullable=True, index=True)  # the first !start
    project_at: datetime | None = _when(nullable=True)
    workshop_at: datetime | None = _when(nullable=True)
    first_task_at: datetime | None = _when(nullable=True)
    first_task_project: str = Field(default="", max_length=128)
    involved_at: datetime | None = _when(nullable=True)  # the MORE_INVOLVED_AT-th task done
    event_at: datetime | None = _when(nullable=True)  # the first "yes" to an event


class MilestoneMark(Table, table=True):
    """How far the summary has read the progress events (one row, name "events"), and the
    people to summarise again whatever their events (a merge: name "person:<id>")."""

    __tablename__ = "milestone_mark"
    name: str = Field(primary_key=True, max_length=64)
    last_id: int = 0


milestone_t = MilestoneRow.__table__  # type: ignore[attr-defined]
mark_t = MilestoneMark.__table__  # type: ignore[attr-defined]

# Progress event kinds whose first occurrence dates a step of the funnel.
FIRST_OF = {"started": "started", "project": "project_chosen", "workshop": "workshop_done",
            "first_task": "task_done"}
KINDS = (*FIRST_OF.values(), "rsvp")  # "rsvp": an answer to an event, read from rsvp
COLUMN = {"started": "started_at", "project": "project_at", "workshop": "workshop_at",
          "first_task": "first_task_at", "involved": "involved_at", "event": "event_at"}
DAY = 86400.0
CHUNK = 500


def _summarise(conn: Connection, people: list[int], involved_at: int) -> None:
    """Write the milestone rows of `people` again from their events (a person erased since
    has none)."""
    for start in range(0, len(people), CHUNK):
        ids = people[start:start + CHUNK]
        rows: dict[int, dict[str, Any]] = {}
        done: dict[int, list[datetime]] = {}
        for r in conn.execute(sa.select(event_t.c.person_id, event_t.c.kind, event_t.c.at)
                              .where(event_t.c.person_id.in_(ids),
                                     event_t.c.kind.in_(FIRST_OF.values()))
                              .order_by(event_t.c.person_id, event_t.c.at, event_t.c.id)):
            row = rows.setdefault(r.person_id, {"person_id": r.person_id})
            if r.kind == "task_done":
                done.setdefault(r.person_id, []).append(r.at)
            for step, kind in FIRST_OF.items():
                if kind == r.kind:
                    row.setdefault(COLUMN[step], r.at)
        for pid, dates in done.items():
            if len(dates) >= involved_at:
                rows[pid]["involved_at"] = dates[involved_at - 1]
        for r in conn.execute(sa.select(rsvp_t.c.person_id, sa.func.min(rsvp_t.c.at))
                              .where(rsvp_t.c.person_id.in_(ids), rsvp_t.c.answer == "yes")
                              .group_by(rsvp_t.c.person_id)):
            rows.setdefault(r[0], {"person_id": r[0]})["event_at"] = r[1]
        for r in conn.execute(sa.select(claim_t.c.person_id, claim_t.c.project_id)
                              .where(claim_t.c.person_id.in_(ids), claim_t.c.outcome == "done")
                              .order_by(claim_t.c.person_id, claim_t.c.ended_at.desc())):
            if r.person_id in rows:  # the last row per person is the first task
                rows[r.person_id]["first_task_project"] = r.project_id
        conn.execute(sa.delete(milestone_t).where(milestone_t.c.person_id.in_(ids)))
        alive = {r[0] for r in conn.execute(sa.select(person_t.c.id)
                                            .where(person_t.c.id.in_(list(rows))))}
        values = [{c: row.get(c) for c in (
            "person_id", "started_at", "project_at", "workshop_at", "first_task_at",
            "involved_at", "event_at")} | {"first_task_project": row.get("first_task_project",
                                                                        "")}
                  for pid, row in rows.items() if pid in alive]
        if values:
            conn.execute(sa.insert(milestone_t), values)


def refresh(conn: Connection, involved_at: int) -> int:
    """Summarise the people whose milestone events came since the last refresh (all of
    them the first time: the backfill); returns how many."""
    mark = conn.execute(sa.select(mark_t.c.last_id).where(mark_t.c.name == "events")).first()
    last = int(mark[0]) if mark is not None else 0
    top = conn.execute(sa.select(sa.func.max(event_t.c.id))).scalar() or 0
    people = {int(r[0]) for r in conn.execute(
        sa.select(event_t.c.person_id).where(event_t.c.id > last, event_t.c.id <= top,
                                             event_t.c.kind.in_(KINDS)).distinct())}
    marked = [r[0] for r in conn.execute(sa.select(mark_t.c.name)
                                         .where(mark_t.c.name.like("person:%")))]
    people |= {int(name.split(":", 1)[1]) for name in marked}
    _summarise(conn, sorted(people), involved_at)
    conn.execute(sa.delete(mark_t).where(mark_t.c.name.like("person:%")))
    if mark is None:
        conn.execute(sa.insert(mark_t).values(name="events", last_id=top))
    else:
        conn.execute(sa.update(mark_t).where(mark_t.c.name == "events").values(last_id=top))
    return len(people)


def _move_person(conn: Connection, source: int, target: int) -> None:
    """A merge: both are summarised again at the next refresh (their events moved)."""
    conn.execute(sa.delete(milestone_t).where(milestone_t.c.person_id.in_((source, target))))
    conn.execute(sa.delete(mark_t).where(mark_t.c.name == f"person:{target}"))
    conn.execute(sa.insert(mark_t).values(name=f"person:{target}", last_id=0))


RECORDS = RecordSql(moves=(_move_person,),
                    personal=(Personal(milestone_t, ("person_id",), by_person()),))


def _project_of() -> sa.ColumnElement[Any]:
    """The project in a person's path state."""
    return sa.func.coalesce(state_t.c.data["path"]["project"].as_string(), "")


def _at_stage(where: StageWhere) -> sa.ColumnElement[bool]:
    """People at one stage of the path, from their path state, as flows/path's `stage` works
    it out in Python: no project of the content (0), its workshop not done (1), then by tasks
    done (2, 3, 4). A workshop is done if its id is in the state's completed_workshops list,
    matched as its JSON string in that list's text (ids are the content's slugs)."""
    path = state_t.c.data["path"]
    project = _project_of()
    done = sa.func.coalesce(path["completed_workshops"].as_string(), "")
    tasks = sa.func.coalesce(path["tasks_done"].as_integer(), 0)
    known = project.in_(where.known) if where.known else sa.false()
    if where.index == 0:
        return sa.not_(known)
    undone = sa.or_(sa.false(), *(sa.and_(project == p, sa.not_(
        done.contains(json.dumps(w), autoescape=True))) for p, w in where.workshops))
    if where.index == 1:
        return undone
    past = sa.and_(known, sa.not_(undone))
    if where.index == 2:
        return sa.and_(past, tasks == 0)
    if where.index == 3:
        return sa.and_(past, tasks != 0, tasks < where.more_involved_at)
    return sa.and_(past, tasks >= where.more_involved_at)


class CrmQueries(Queries):
    # -- one person ----------------------------------------------------------------------
    async def find_people(self, text: str, limit: int = 10) -> list[PersonId]:
        """People named by `text`: a person id, an identity ("network:id"), or an id on any
        network (case-insensitive; then a part of one)."""
        text = text.strip()
        if not text:
            return []
        if text.isdigit():
            row = await self._one(sa.select(person_t.c.id).where(person_t.c.id == int(text)))
            if row is not None:
                return [PersonId(row[0])]
        network, sep, external = text.partition(":")
        if sep:
            row = await self._one(sa.select(identity_t.c.person_id).where(
                identity_t.c.network == network.lower(), identity_t.c.external_id == external))
            if row is not None:
                return [PersonId(row[0])]
        low = sa.func.lower(identity_t.c.external_id)
        for where in (low == text.lower(), low.contains(text.lower(), autoescape=True)):
            rows = await self._all(sa.select(identity_t.c.person_id).where(where).distinct()
                                   .order_by(identity_t.c.person_id).limit(limit))
            if rows:
                return [PersonId(r[0]) for r in rows]
        return []

    async def person_facts(self, person_id: PersonId) -> PersonFacts | None:
        def read(conn: sa.Connection) -> PersonFacts | None:
            person = conn.execute(sa.select(person_t.c.created_at)
                                  .where(person_t.c.id == person_id)).first()
            if person is None:
                return None
            state = conn.execute(sa.select(state_t.c.data, state_t.c.updated_at)
                                 .where(state_t.c.person_id == person_id)).first()
            standing = conn.execute(sa.select(standing_t.c.region, standing_t.c.timezone)
                                    .where(standing_t.c.person_id == person_id)).first()
            idents = conn.execute(sa.select(identity_t).where(
                identity_t.c.person_id == person_id).order_by(identity_t.c.created_at))
            events = conn.execute(sa.select(event_t.c.kind, event_t.c.detail, event_t.c.at)
                                  .where(event_t.c.person_id == person_id)
                                  .order_by(event_t.c.at, event_t.c.id))
            tasks = conn.execute(sa.select(claim_t).where(claim_t.c.person_id == person_id)
                                 .order_by(claim_t.c.claimed_at))
            # A revoked certificate is no merit.
            certs = conn.execute(sa.select(cert_t).where(cert_t.c.person_id == person_id,
                                                         cert_t.c.revoked_at.is_(None))
                                 .order_by(cert_t.c.issued_at))
            cases = conn.execute(sa.select(case_t).where(case_t.c.person_id == person_id)
                                 .order_by(case_t.c.created_at))
            rsvps = conn.execute(sa.select(rsvp_t).where(rsvp_t.c.person_id == person_id)
                                 .order_by(rsvp_t.c.at))
            attended = conn.execute(sa.select(attendance_t.c.event_id, attendance_t.c.at)
                                    .where(attendance_t.c.person_id == person_id)
                                    .order_by(attendance_t.c.at))
            return PersonFacts(
                person_id=person_id,
                identities=tuple(Identity(Network(r.network), ExternalId(r.external_id),
                                          r.verified) for r in idents),
                first_seen=person.created_at,
                last_seen=state.updated_at if state is not None else None,
                state=dict(state.data) if state is not None else {},
                region=standing.region if standing is not None else "",
                timezone=standing.timezone if standing is not None else "",
                events=tuple((r.kind, dict(r.detail), r.at) for r in events),
                tasks=tuple(TaskFact(r.task_id, r.project_id, r.claimed_at, r.ended_at,
                                     r.outcome) for r in tasks),
                certificates=tuple(CertificateFact(r.code, r.workshop_title, r.issued_at)
                                   for r in certs),
                cases=tuple(CaseFact(r.code, r.project_id, r.claimed_by or r.mentor_key,
                                     r.status, r.note, r.created_at) for r in cases),
                rsvps=tuple(RsvpFact(r.event_id, r.answer, r.at) for r in rsvps),
                attended=tuple((r.event_id, r.at) for r in attended),
            )

        return await self.db.read(read)

    # -- the people list -------------------------------------------------------------------
    async def people(self, wanted: PeopleFilter) -> list[PersonRow]:
        cohort = self._month(milestone_t.c.started_at)
        project = _project_of()
        on_state = state_t.c.person_id == person_t.c.id
        if wanted.upto:  # said of the state too, so PostgreSQL reads only the window's states
            on_state = sa.and_(on_state, state_t.c.person_id > wanted.after,
                               state_t.c.person_id <= wanted.upto)
        stmt = (sa.select(person_t.c.id, person_t.c.created_at, state_t.c.updated_at,
                          state_t.c.data, project.label("project"),
                          sa.func.coalesce(standing_t.c.region, "").label("region"),
                          cohort.label("cohort"))
                .select_from(person_t
                             .outerjoin(state_t, on_state)
                             .outerjoin(standing_t, standing_t.c.person_id == person_t.c.id)
                             .outerjoin(milestone_t,
                                        milestone_t.c.person_id == person_t.c.id)))
        if wanted.project:
            stmt = stmt.where(project == wanted.project)
        if wanted.region:
            stmt = stmt.where(standing_t.c.region == wanted.region)
        if wanted.stage is not None:
            stmt = stmt.where(_at_stage(wanted.stage))
        if wanted.cohort:
            stmt = stmt.where(cohort == wanted.cohort)
        if wanted.network:
            stmt = stmt.where(sa.exists().where(identity_t.c.person_id == person_t.c.id,
                                                identity_t.c.network == wanted.network))
        if wanted.active_since is not None:
            stmt = stmt.where(state_t.c.updated_at >= wanted.active_since)
        if wanted.inactive_since is not None:
            stmt = stmt.where(sa.or_(state_t.c.updated_at.is_(None),
                                     state_t.c.updated_at < wanted.inactive_since))
        stmt = stmt.order_by(person_t.c.id).limit(wanted.limit)
        if wanted.after:
            stmt = stmt.where(person_t.c.id > wanted.after)
        if wanted.upto:
            stmt = stmt.where(person_t.c.id <= wanted.upto)

        def read(conn: sa.Connection) -> list[PersonRow]:
            rows = list(conn.execute(stmt))
            keys: dict[int, list[str]] = {}
            ids = [r.id for r in rows]
            for start in range(0, len(ids), 500):
                for ident in conn.execute(sa.select(identity_t.c.person_id, identity_t.c.network,
                                                    identity_t.c.external_id)
                                          .where(identity_t.c.person_id.in_(ids[start:start + 500]))
                                          .order_by(identity_t.c.created_at)):
                    keys.setdefault(ident.person_id, []).append(
                        f"{ident.network}:{ident.external_id}")
            return [PersonRow(PersonId(r.id), tuple(keys.get(r.id, ())), r.project or "",
                              r.region or "", r.cohort or "", r.created_at, r.updated_at,
                              dict(r.data) if r.data is not None else {}) for r in rows]

        return await self.db.read(read)

    async def person_id_after(self, after: int, count: int) -> int | None:
        """The id of the `count`-th person after id `after`, None if there are not that many:
        the end of a page's scan window (a filter the index cannot answer reads that many
        people at most)."""
        row = await self._one(sa.select(person_t.c.id).where(person_t.c.id > after)
                              .order_by(person_t.c.id).offset(count - 1).limit(1))
        return int(row[0]) if row is not None else None

    # -- reports ---------------------------------------------------------------------------
    def _month(self, at: Any) -> sa.ColumnElement[Any]:
        if self.db.is_sqlite:
            return sa.func.strftime("%Y-%m", at)
        return sa.func.to_char(at, "YYYY-MM")

    def _days(self, start: Any, end: Any) -> sa.ColumnElement[Any]:
        if self.db.is_sqlite:
            return sa.func.julianday(end) - sa.func.julianday(start)
        return sa.extract("epoch", end - start) / DAY

    async def refresh_milestones(self, involved_at: int) -> int:
        """Bring the milestone summary up to date with the progress events (all of them the
        first time); returns the number of people summarised again."""
        return await self.db.write(lambda conn: refresh(conn, involved_at))

    def _cohort(self, window: Window) -> list[sa.ColumnElement[bool]]:
        """People whose first !start falls in the window."""
        where = [milestone_t.c.started_at.is_not(None)]
        if window.since is not None:
            where.append(milestone_t.c.started_at >= window.since)
        if window.until is not None:
            where.append(milestone_t.c.started_at < window.until)
        return where

    async def step_counts(self, window: Window, by: str = "") -> list[tuple[str, str, int]]:
        """(group, step, people) for the people started in the window: the funnel (group ""),
        or by "project", "region" or "network"."""
        group, joined = self._group(by)
        steps = list(COLUMN)
        rows = await self._all(
            sa.select(group, *(sa.func.count(milestone_t.c[COLUMN[s]]) for s in steps))
            .select_from(joined).where(*self._cohort(window)).group_by(group))
        return [(str(r[0] or ""), step, int(r[1 + n])) for r in rows
                for n, step in enumerate(steps)]

    def _group(self, by: str) -> tuple[sa.ColumnElement[Any], Any]:
        m = milestone_t
        if by == "project":
            return (_project_of().label("grp"),
                    m.outerjoin(state_t, state_t.c.person_id == m.c.person_id))
        if by == "region":
            return (sa.func.coalesce(standing_t.c.region, "").label("grp"),
                    m.outerjoin(standing_t, standing_t.c.person_id == m.c.person_id))
        if by == "network":
            return (identity_t.c.network.label("grp"),
                    m.join(identity_t, identity_t.c.person_id == m.c.person_id))
        if by:
            raise ValueError(f"no report by {by!r}")
        return sa.literal("").label("grp"), m

    async def cohort_counts(self, window: Window,
                            weeks: Sequence[int]) -> tuple[dict[str, int],
                                                           list[tuple[str, str, list[int]]]]:
        """The size of each month's cohort, and (month, step, [people who reached the step
        within each of `weeks` of their first !start])."""
        m = milestone_t
        steps = [s for s in COLUMN if s != "started"]
        # the days to each step, worked out once per person (not once per week asked about)
        days = (sa.select(self._month(m.c.started_at).label("month"),
                          *(self._days(m.c.started_at, m.c[COLUMN[s]]).label(s) for s in steps))
                .where(*self._cohort(window)).subquery("days"))
        sums = [sa.func.sum(sa.case((days.c[s] <= 7 * w, 1), else_=0))
                for s in steps for w in weeks]
        rows = await self._all(sa.select(days.c.month, sa.func.count(), *sums)
                               .group_by(days.c.month))
        sizes = {str(r[0]): int(r[1]) for r in rows}
        counts = []
        for r in rows:
            values = [int(v or 0) for v in r[2:]]
            for n, step in enumerate(steps):
                counts.append((str(r[0]), step, values[n * len(weeks):(n + 1) * len(weeks)]))
        return sizes, counts

    async def first_task_days(self, window: Window) -> list[tuple[str, str, float]]:
        """(project, region, days from the first !start to the first task done) per person
        started in the window who finished one; the project their first task was claimed in
        ("" if the claim is gone)."""
        m = milestone_t
        rows = await self._all(
            sa.select(m.c.first_task_project, sa.func.coalesce(standing_t.c.region, ""),
                      self._days(m.c.started_at, m.c.first_task_at))
            .select_from(m.outerjoin(standing_t, standing_t.c.person_id == m.c.person_id))
            .where(*self._cohort(window), m.c.first_task_at.is_not(None)))
        return [(str(r[0]), str(r[1]), max(0.0, float(r[2]))) for r in rows]

    async def first_task_months(self, window: Window) -> dict[str, int]:
        """People started in the window with a first task done, per month of that task."""
        m = milestone_t
        month = self._month(m.c.first_task_at)
        rows = await self._all(sa.select(month, sa.func.count())
                               .where(*self._cohort(window), m.c.first_task_at.is_not(None))
                               .group_by(month))
        return {str(r[0]): int(r[1]) for r in rows}

    async def first_tasks(self, window: Window,
                          people: Sequence[int]) -> list[tuple[int, datetime]]:
        """(person, when their first task was done) for those of `people` started in the
        window who finished one (the retention report asks only about linked people)."""
        m = milestone_t
        found: list[tuple[int, datetime]] = []
        for start in range(0, len(people), 500):
            rows = await self._all(sa.select(m.c.person_id, m.c.first_task_at).where(
                *self._cohort(window), m.c.first_task_at.is_not(None),
                m.c.person_id.in_(people[start:start + 500])))
            found += [(int(r[0]), r[1]) for r in rows]
        return found

    async def travel_candidates(self, window: Window, step: str,
                                limit: int = 10_000) -> list[dict[str, Any]]:
        """People started in the window who reached `step`, with their merit: region, tasks
        done, certificates, events said yes to, and their first identity."""
        m = milestone_t
        reached = m.c[COLUMN[step]]
        tasks = (sa.select(sa.func.count()).where(claim_t.c.person_id == m.c.person_id,
                                                  claim_t.c.outcome == "done")
                 .scalar_subquery())
        certs = (sa.select(sa.func.count()).where(cert_t.c.person_id == m.c.person_id,
                                                  cert_t.c.revoked_at.is_(None))
                 .scalar_subquery())
        yes = (sa.select(sa.func.count()).where(rsvp_t.c.person_id == m.c.person_id,
                                                rsvp_t.c.answer == "yes").scalar_subquery())
        went = (sa.select(sa.func.count()).where(attendance_t.c.person_id == m.c.person_id)
                .scalar_subquery())
        who = (sa.select(sa.func.min(identity_t.c.network + ":" + identity_t.c.external_id))
               .where(identity_t.c.person_id == m.c.person_id).scalar_subquery())
        region = sa.func.coalesce(standing_t.c.region, "")
        rows = await self._all(
            sa.select(m.c.person_id, who, region, reached, tasks, certs, yes, went)
            .select_from(m.outerjoin(standing_t, standing_t.c.person_id == m.c.person_id))
            .where(*self._cohort(window), reached.is_not(None))
            .order_by(region, reached).limit(limit))
        return [{"person": int(r[0]), "identity": r[1] or "", "region": r[2],
                 "reached_at": r[3], "tasks_done": int(r[4]), "certificates": int(r[5]),
                 "events": int(r[6]), "attended": int(r[7])} for r in rows]
