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
    """Close a person's active claim: "done", "released" or "idle"."""

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


Record = ClaimTask | EndClaim | TouchClaim | Certificate | LinkCode | UseLinkCode | MergePersons
