"""Domain records that flows ask the store to write, and read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId


@dataclass(frozen=True)
class TaskClaim:
    task_id: str
    project_id: str
    person_id: PersonId
    claimed_at: datetime
    last_activity_at: datetime


@dataclass(frozen=True)
class ClaimTask:
    """Claim a task; fails the unit with ConflictError if someone holds it already."""

    task_id: str
    project_id: str
    person_id: PersonId
    at: datetime


@dataclass(frozen=True)
class EndClaim:
    """Close a person's active claim: "done", "released", "idle" or "removed" (from content)."""

    person_id: PersonId
    task_id: str
    outcome: str
    at: datetime


@dataclass(frozen=True)
class TouchClaim:
    person_id: PersonId
    at: datetime


@dataclass(frozen=True)
class Certificate:
    code: str
    person_id: PersonId
    holder: str
    workshop_id: str
    workshop_title: str
    issued_at: datetime


@dataclass(frozen=True)
class LinkCode:
    code: str
    person_id: PersonId
    created_at: datetime
    expires_at: datetime
    used: bool


@dataclass(frozen=True)
class UseLinkCode:
    code: str


@dataclass(frozen=True)
class MergePersons:
    """Move everything of `source` onto `target` and delete `source`."""

    source: PersonId
    target: PersonId




# -- mentoring ---------------------------------------------------------------------------------
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
class OpenCase:
    code: str
    person_id: PersonId
    newcomer: str
    project_id: str
    subject: str
    reason: str
    source: str
    at: datetime


@dataclass(frozen=True)
class PingCase:
    """Record that `mentor_key` (or a channel, or organizers: level >= 2) was asked."""

    code: str
    mentor_key: str
    level: int
    tried: tuple[str, ...]
    at: datetime
    escalate_at: datetime | None


@dataclass(frozen=True)
class ClaimCase:
    """Fails with a conflict unless the case is still open: exactly one claimer wins."""

    code: str
    mentor_key: str
    at: datetime


@dataclass(frozen=True)
class ReleaseCase:
    code: str
    mentor_key: str
    at: datetime


@dataclass(frozen=True)
class ResolveCase:
    code: str
    mentor_key: str
    note: str
    at: datetime


@dataclass(frozen=True)
class MentorAway:
    mentor_key: str
    until: datetime | None  # None: back now


@dataclass(frozen=True)
class AddMentor:
    project_id: str
    identity_key: str


@dataclass(frozen=True)
class MentorState:
    away_until: datetime | None
    last_assigned_at: datetime | None


@dataclass(frozen=True)
class SetNudge:
    """Ask the person whether they want help if nothing moves before `due_at`."""

    person_id: PersonId
    subject: str
    project_id: str
    due_at: datetime


@dataclass(frozen=True)
class ClearNudge:
    person_id: PersonId


@dataclass(frozen=True)
class Nudge:
    person_id: PersonId
    subject: str
    project_id: str
    due_at: datetime


@dataclass(frozen=True)
class Audit:
    identity: str
    action: str
    detail: str
    at: datetime


# -- events ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    """A meetup, hackathon or conference organizers invite newcomers to."""

    id: str
    title: str
    starts_at: datetime  # UTC
    timezone: str  # where it happens: times are shown in it, reminders count its days
    place: str
    regions: tuple[str, ...]
    audience: str
    capacity: int | None = None
    reminders: tuple[str, ...] = ()  # durations before the start, e.g. ("1d",)
    created_by: str = ""
    source: str = "chat"  # "chat" or the content file


@dataclass(frozen=True)
class CreateEvent:
    """Fails the unit with a conflict if the id is taken."""

    event: Event
    at: datetime


@dataclass(frozen=True)
class Broadcast:
    id: int
    event_id: str
    kind: str  # "invite" or "reminder"
    status: str  # "scheduled", "sending", "done", "cancelled"
    send_at: datetime
    cursor: int
    recipients: int
    created_by: str
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class ScheduleBroadcast:
    """Send `kind` for the event at `send_at` (now: at the next scan, moments away)."""

    event_id: str
    kind: str
    send_at: datetime
    created_by: str
    at: datetime


@dataclass(frozen=True)
class CancelBroadcast:
    """Cancel what is scheduled for the event and not yet sending."""

    event_id: str


@dataclass(frozen=True)
class SetRsvp:
    event_id: str
    person_id: PersonId
    answer: str  # "yes", "no", "maybe"
    at: datetime


Record = (ClaimTask | EndClaim | TouchClaim | Certificate | LinkCode | UseLinkCode | MergePersons
          | OpenCase | PingCase | ClaimCase | ReleaseCase | ResolveCase | MentorAway | AddMentor
          | SetNudge | ClearNudge | Audit | CreateEvent | ScheduleBroadcast | CancelBroadcast
          | SetRsvp)
