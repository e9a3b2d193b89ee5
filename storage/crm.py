"""The CRM feature's queries: one person's record, the people list, and the reports' SQL over
the progress events every turn writes (progress_event, indexed here by kind for the reports).

The CRM writes nothing: a person's dates are the progress events of their turns, their first
seen the person row, their last seen their flow state's last write, their region what they
chose (person_standing), their merit the path's, mentoring's and events' own tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.model import ExternalId, Identity, Network, PersonId
from flows.crm.records import (
    CaseFact,
    CertificateFact,
    PeopleFilter,
    PersonFacts,
    PersonRow,
    RsvpFact,
    TaskFact,
    Window,
)
from storage.events import rsvp_t, standing_t
from storage.mentoring import case_t
from storage.path import cert_t, claim_t
from storage.queries import Queries
from storage.records import event_t, identity_t, person_t, state_t

# The reports read each kind's events person by person (first dates, the n-th task): on the
# core's (person_id, kind, at) index each report read every person's rows (migrations/crm).
ix_progress_event_kind = sa.Index("ix_progress_event_kind", event_t.c.kind, event_t.c.person_id,
                                  event_t.c.at)

# Progress event kinds whose first occurrence dates a step of the funnel.
FIRST_OF = {"started": "started", "project": "project_chosen", "workshop": "workshop_done",
            "first_task": "task_done"}
DAY = 86400.0


def _project_of() -> sa.ColumnElement[Any]:
    """The project in a person's path state."""
    return sa.func.coalesce(state_t.c.data["path"]["project"].as_string(), "")


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
            certs = conn.execute(sa.select(cert_t).where(cert_t.c.person_id == person_id)
                                 .order_by(cert_t.c.issued_at))
            cases = conn.execute(sa.select(case_t).where(case_t.c.person_id == person_id)
                                 .order_by(case_t.c.created_at))
            rsvps = conn.execute(sa.select(rsvp_t).where(rsvp_t.c.person_id == person_id)
                                 .order_by(rsvp_t.c.at))
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
            )

        return await self.db.read(read)

    # -- the people list -------------------------------------------------------------------
    async def people(self, wanted: PeopleFilter) -> list[PersonRow]:
        first = _first_start().subquery("first_start")
        cohort = self._month(first.c.at)
        project = _project_of()
        stmt = (sa.select(person_t.c.id, person_t.c.created_at, state_t.c.updated_at,
                          state_t.c.data, project.label("project"),
                          sa.func.coalesce(standing_t.c.region, "").label("region"),
                          cohort.label("cohort"))
                .select_from(person_t
                             .outerjoin(state_t, state_t.c.person_id == person_t.c.id)
                             .outerjoin(standing_t, standing_t.c.person_id == person_t.c.id)
                             .outerjoin(first, first.c.person_id == person_t.c.id)))
        if wanted.project:
            stmt = stmt.where(project == wanted.project)
        if wanted.region:
            stmt = stmt.where(standing_t.c.region == wanted.region)
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

    # -- reports ---------------------------------------------------------------------------
    def _month(self, at: Any) -> sa.ColumnElement[Any]:
        if self.db.is_sqlite:
            return sa.func.strftime("%Y-%m", at)
        return sa.func.to_char(at, "YYYY-MM")

    def _days(self, start: Any, end: Any) -> sa.ColumnElement[Any]:
        if self.db.is_sqlite:
            return sa.func.julianday(end) - sa.func.julianday(start)
        return sa.extract("epoch", end - start) / DAY

    def _milestones(self, involved_at: int) -> sa.Subquery:
        """(person_id, step, at): the date each person reached each step of the funnel."""
        parts: list[sa.Select[Any]] = [
            sa.select(event_t.c.person_id, sa.literal(step).label("step"),
                      sa.func.min(event_t.c.at).label("at"))
            .where(event_t.c.kind == kind).group_by(event_t.c.person_id)
            for step, kind in FIRST_OF.items()]
        nth = sa.func.row_number().over(partition_by=event_t.c.person_id,
                                        order_by=(event_t.c.at, event_t.c.id)).label("n")
        done = (sa.select(event_t.c.person_id, event_t.c.at, nth)
                .where(event_t.c.kind == "task_done").subquery("done"))
        parts.append(sa.select(done.c.person_id, sa.literal("involved").label("step"),
                               done.c.at).where(done.c.n == involved_at))
        parts.append(sa.select(rsvp_t.c.person_id, sa.literal("event").label("step"),
                               sa.func.min(rsvp_t.c.at).label("at"))
                     .where(rsvp_t.c.answer == "yes").group_by(rsvp_t.c.person_id))
        return sa.union_all(*parts).subquery("milestone")

    def _cohort(self, window: Window) -> sa.Subquery:
        """(person_id, at): people whose first !start falls in the window, and when."""
        stmt = _first_start()
        if window.since is not None:
            stmt = stmt.having(sa.func.min(event_t.c.at) >= window.since)
        if window.until is not None:
            stmt = stmt.having(sa.func.min(event_t.c.at) < window.until)
        return stmt.subquery("cohort")

    async def step_counts(self, window: Window, involved_at: int,
                          by: str = "") -> list[tuple[str, str, int]]:
        """(group, step, people) for the people started in the window: the funnel (group ""),
        or by "project", "region" or "network"."""
        cohort, mile = self._cohort(window), self._milestones(involved_at)
        group, joined = self._group(by, cohort)
        rows = await self._all(
            sa.select(group, mile.c.step, sa.func.count())
            .select_from(joined.join(mile, mile.c.person_id == cohort.c.person_id))
            .group_by(group, mile.c.step))
        return [(str(r[0] or ""), str(r[1]), int(r[2])) for r in rows]

    def _group(self, by: str, cohort: sa.Subquery) -> tuple[sa.ColumnElement[Any], Any]:
        if by == "project":
            return (_project_of().label("grp"),
                    cohort.outerjoin(state_t, state_t.c.person_id == cohort.c.person_id))
        if by == "region":
            return (sa.func.coalesce(standing_t.c.region, "").label("grp"),
                    cohort.outerjoin(standing_t, standing_t.c.person_id == cohort.c.person_id))
        if by == "network":
            return (identity_t.c.network.label("grp"),
                    cohort.join(identity_t, identity_t.c.person_id == cohort.c.person_id))
        if by:
            raise ValueError(f"no report by {by!r}")
        return sa.literal("").label("grp"), cohort

    async def cohort_counts(self, window: Window, involved_at: int,
                            weeks: Sequence[int]) -> tuple[dict[str, int],
                                                           list[tuple[str, str, list[int]]]]:
        """The size of each month's cohort, and (month, step, [people who reached the step
        within each of `weeks` of their first !start])."""
        cohort, mile = self._cohort(window), self._milestones(involved_at)
        month = self._month(cohort.c.at).label("month")
        sizes = await self._all(sa.select(month, sa.func.count()).group_by(month))
        days = self._days(cohort.c.at, mile.c.at)
        within = [sa.func.sum(sa.case((days <= 7 * w, 1), else_=0)) for w in weeks]
        rows = await self._all(
            sa.select(month, mile.c.step, *within)
            .select_from(cohort.join(mile, mile.c.person_id == cohort.c.person_id))
            .group_by(month, mile.c.step))
        return ({str(r[0]): int(r[1]) for r in sizes},
                [(str(r[0]), str(r[1]), [int(v or 0) for v in r[2:]]) for r in rows])

    async def first_task_days(self, window: Window) -> list[tuple[str, str, float]]:
        """(project, region, days from the first !start to the first task done) per person
        started in the window who finished one; the project the task was claimed in."""
        cohort = self._cohort(window)
        ranked = (sa.select(claim_t.c.person_id, claim_t.c.project_id, claim_t.c.ended_at,
                            sa.func.row_number().over(partition_by=claim_t.c.person_id,
                                                      order_by=claim_t.c.ended_at).label("n"))
                  .where(claim_t.c.outcome == "done").subquery("first_done"))
        rows = await self._all(
            sa.select(ranked.c.project_id, sa.func.coalesce(standing_t.c.region, ""),
                      self._days(cohort.c.at, ranked.c.ended_at))
            .select_from(cohort.join(ranked, ranked.c.person_id == cohort.c.person_id)
                         .outerjoin(standing_t, standing_t.c.person_id == cohort.c.person_id))
            .where(ranked.c.n == 1))
        return [(str(r[0]), str(r[1]), max(0.0, float(r[2]))) for r in rows]

    async def travel_candidates(self, window: Window, step: str, involved_at: int,
                                limit: int = 10_000) -> list[dict[str, Any]]:
        """People started in the window who reached `step`, with their merit: region, tasks
        done, certificates, events said yes to, and their first identity."""
        cohort, mile = self._cohort(window), self._milestones(involved_at)
        reached = (sa.select(mile.c.person_id, mile.c.at).where(mile.c.step == step)
                   .subquery("reached"))
        tasks = (sa.select(sa.func.count()).where(claim_t.c.person_id == cohort.c.person_id,
                                                  claim_t.c.outcome == "done")
                 .scalar_subquery())
        certs = (sa.select(sa.func.count()).where(cert_t.c.person_id == cohort.c.person_id)
                 .scalar_subquery())
        yes = (sa.select(sa.func.count()).where(rsvp_t.c.person_id == cohort.c.person_id,
                                                rsvp_t.c.answer == "yes").scalar_subquery())
        who = (sa.select(sa.func.min(identity_t.c.network + ":" + identity_t.c.external_id))
               .where(identity_t.c.person_id == cohort.c.person_id).scalar_subquery())
        region = sa.func.coalesce(standing_t.c.region, "")
        rows = await self._all(
            sa.select(cohort.c.person_id, who, region, reached.c.at, tasks, certs, yes)
            .select_from(cohort.join(reached, reached.c.person_id == cohort.c.person_id)
                         .outerjoin(standing_t, standing_t.c.person_id == cohort.c.person_id))
            .order_by(region, reached.c.at).limit(limit))
        return [{"person": int(r[0]), "identity": r[1] or "", "region": r[2],
                 "reached_at": r[3], "tasks_done": int(r[4]), "certificates": int(r[5]),
                 "events": int(r[6])} for r in rows]


def _first_start() -> sa.Select[Any]:
    return (sa.select(event_t.c.person_id, sa.func.min(event_t.c.at).label("at"))
            .where(event_t.c.kind == "started").group_by(event_t.c.person_id))
