"""The mentoring feature's records: help requests (cases) from opening to resolution, mentors'
availability and assignments, and nudges that ask a stuck newcomer whether they want help."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class Case:
    """A newcomer's request for help, from opening to resolution."""

    code: str
    person_id: PersonId
    newcomer: str  # identity key, for context in pings
    project_id: str
    subject: str  # where they are stuck, in words
    reason: str  # what they wrote (may be empty)
    source: str  # "asked" or "inactive"
    status: str  # "open", "claimed", "resolved"
    level: int  # 0: first mentor, 1: next mentor, 2: mentor channel, 3: organizers
    mentor_key: str  # the mentor pinged last (profile key), "" if none
    claimed_by: str
    tried: tuple[str, ...]
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    escalate_at: datetime | None


@dataclass(frozen=True)
class OpenCase(Record):
    code: str
    person_id: PersonId
    newcomer: str
    project_id: str
    subject: str
    reason: str
    source: str
    at: datetime


@dataclass(frozen=True)
class PingCase(Record):
    """Record that `mentor_key` (or a channel, or organizers: level >= 2) was asked."""

    code: str
    mentor_key: str
    level: int
    tried: tuple[str, ...]
    at: datetime
    escalate_at: datetime | None


@dataclass(frozen=True)
class ClaimCase(Record):
    """Fails with a conflict unless the case is still open: exactly one claimer wins."""

    code: str
    mentor_key: str
    at: datetime


@dataclass(frozen=True)
class ReleaseCase(Record):
    code: str
    mentor_key: str
    at: datetime


@dataclass(frozen=True)
class ResolveCase(Record):
    code: str
    mentor_key: str
    note: str
    at: datetime


@dataclass(frozen=True)
class MentorAway(Record):
    mentor_key: str
    until: datetime | None  # None: back now


@dataclass(frozen=True)
class AddMentor(Record):
    project_id: str
    identity_key: str


@dataclass(frozen=True)
class RemoveMentor(Record):
    """Undoes an AddMentor (mentors listed in content are removed by editing the content)."""

    project_id: str
    identity_key: str


@dataclass(frozen=True)
class SetMentorHours(Record):
    """A mentor's office hours, set in chat (`!hours`): they replace the hours and time zone
    of their profile in mentors.toml, on every project they mentor."""

    mentor_key: str  # the profile key (first identity), as MentorState's
    hours: str  # as mentors.toml's `hours`: "mon-fri 18:00-20:00"
    timezone: str
    at: datetime


@dataclass(frozen=True)
class MentorState:
    away_until: datetime | None
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class SetNudge(Record):
    """Ask the person whether they want help if nothing moves before `due_at`."""

    person_id: PersonId
    subject: str
    project_id: str
    due_at: datetime


@dataclass(frozen=True)
class ClearNudge(Record):
    person_id: PersonId


@dataclass(frozen=True)
class Nudge:
    person_id: PersonId
    subject: str
    project_id: str
    due_at: datetime
