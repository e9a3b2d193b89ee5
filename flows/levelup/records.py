"""The levelup feature's records: an invitation to mentor, the answer, the approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class Levelup:
    """One person's way to mentoring: invited, then "asked" (said yes), "declined" or
    "approved"; "skipped" when there was no project to invite them to."""

    person_id: PersonId
    project_id: str
    status: str
    identity_key: str  # the verified identity that said yes (the mentor's), else ""
    tasks_done: int
    invited_at: datetime
    answered_at: datetime | None
    approved_by: str
    approved_at: datetime | None


@dataclass(frozen=True)
class InviteToMentor(Record):
    """Invite the person, once (a second one for them fails the unit: a replayed scan)."""

    person_id: PersonId
    project_id: str
    tasks_done: int
    status: str  # "invited", or "skipped" (no project: never asked, never scanned again)
    at: datetime


@dataclass(frozen=True)
class AnswerInvite(Record):
    person_id: PersonId
    answer: str  # "asked" (yes, waiting for approval) or "declined"
    identity_key: str
    at: datetime


@dataclass(frozen=True)
class ApproveMentor(Record):
    person_id: PersonId
    by: str
    at: datetime
