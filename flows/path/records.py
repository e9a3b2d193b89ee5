"""The path feature's records: task claims (a newcomer's first task) and workshop
certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class TaskClaim:
    task_id: str
    project_id: str
    person_id: PersonId
    claimed_at: datetime
    last_activity_at: datetime


@dataclass(frozen=True)
class TaskHandOuts:
    """Of some tasks, those someone holds now and those someone has finished (read together,
    in one statement, so a task finished between two reads cannot slip through)."""

    claimed: frozenset[str]
    done: frozenset[str]


@dataclass(frozen=True)
class ClaimTask(Record):
    """Claim a task; fails the unit with ConflictError if someone holds it already."""

    task_id: str
    project_id: str
    person_id: PersonId
    at: datetime


@dataclass(frozen=True)
class EndClaim(Record):
    """Close a person's active claim: "done", "released", "idle" or "removed" (from content)."""

    person_id: PersonId
    task_id: str
    outcome: str
    at: datetime


@dataclass(frozen=True)
class TouchClaim(Record):
    person_id: PersonId
    at: datetime


@dataclass(frozen=True)
class Certificate(Record):
    code: str
    person_id: PersonId
    holder: str
    workshop_id: str
    workshop_title: str
    issued_at: datetime
