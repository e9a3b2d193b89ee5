"""What the CRM feature reads about people (it writes nothing of its own): the facts the store
holds about one person, a row of the people list, and the milestones reports count."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import N_
from bot.model import Identity, PersonId

# The funnel's steps, in order: (key, label). A person's date for each is the first progress
# event of its kind (started, project_chosen, workshop_done, task_done); "involved" is the
# MORE_INVOLVED_AT-th task done (stage 5 opens); "event" an RSVP "yes" to an event.
# The funnel's steps: key and label (a message id, said in a report's language).
STEPS = (("started", N_("started")), ("project", N_("project found")),
         ("workshop", N_("workshop done")), ("first_task", N_("first task done")),
         ("involved", N_("involved")), ("event", N_("said yes to an event")))


@dataclass(frozen=True)
class TaskFact:
    task_id: str
    project_id: str
    claimed_at: datetime
    ended_at: datetime | None
    outcome: str  # "" while held; "done", "released", "idle", "removed"


@dataclass(frozen=True)
class CertificateFact:
    code: str
    workshop_title: str
    issued_at: datetime


@dataclass(frozen=True)
class CaseFact:
    code: str
    project_id: str
    mentor: str  # who claimed it (or was asked), "network:id"
    status: str
    note: str
    created_at: datetime


@dataclass(frozen=True)
class RsvpFact:
    event_id: str
    answer: str
    at: datetime


@dataclass(frozen=True)
class PersonFacts:
    """Everything the person record is made of, as the store holds it."""

    person_id: PersonId
    identities: tuple[Identity, ...]
    first_seen: datetime
    last_seen: datetime | None
    state: dict[str, Any]  # their flow state's data (each feature's part under its name)
    region: str = ""  # as they chose it (person_standing)
    timezone: str = ""
    events: tuple[tuple[str, dict[str, Any], datetime], ...] = ()  # progress events, in order
    tasks: tuple[TaskFact, ...] = ()
    certificates: tuple[CertificateFact, ...] = ()
    cases: tuple[CaseFact, ...] = ()
    rsvps: tuple[RsvpFact, ...] = ()
    attended: tuple[tuple[str, datetime], ...] = ()  # events they checked in at, and when


@dataclass(frozen=True)
class StageWhere:
    """One stage of the path (flows/path's `stage`), spelled for SQL: the content's part of
    it, so the store keeps only people at that stage and pages with LIMIT (profile.stage_where
    builds it; a test holds it to `stage`)."""

    index: int  # 0-based into STAGES
    known: tuple[str, ...]  # the content's project ids (any other project: stage 0)
    workshops: tuple[tuple[str, str], ...]  # (project, its workshop) for those with one
    more_involved_at: int  # tasks done for the last stage


@dataclass(frozen=True)
class PeopleFilter:
    project: str = ""
    region: str = ""
    cohort: str = ""  # "YYYY-MM": the month of their first !start
    network: str = ""
    active_since: datetime | None = None  # last seen at or after
    inactive_since: datetime | None = None  # last seen before
    limit: int = 1000
    after: int = 0  # only people with a higher id (the next page)
    stage: StageWhere | None = None  # only people at that stage of the path
    upto: int = 0  # only people with this id or lower (0: no bound): a page's scan window


@dataclass(frozen=True)
class PersonRow:
    """One line of `wayfinder people` (the stage is worked out from the state and content)."""

    person_id: PersonId
    identities: tuple[str, ...]
    project: str
    region: str
    cohort: str
    first_seen: datetime
    last_seen: datetime | None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """Which people a report counts: those whose first !start falls in [since, until)."""

    since: datetime | None = None
    until: datetime | None = None
