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
    holder: str  # the name they chose for their certificates ("" until they give one)
    workshop_id: str  # a workshop's id, or "first-task:TASK"
    workshop_title: str
    issued_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str = ""
    revoked_by: str = ""  # the admin's identity key, or "cli:USER"


@dataclass(frozen=True)
class NameHolder(Record):
    """The name a person chose (`!name`) goes on their certificates that are not revoked."""

    person_id: PersonId
    holder: str


@dataclass(frozen=True)
class RevokeCertificate(Record):
    code: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class GiveFeedback(Record):
    """An answer to "what brings you here?" (kind "motive": `answer` is the choice, `comment`
    the free text), or a 1-5 rating of a workshop step (kind "step", subject
    "workshop/step") or of a finished task (kind "task", subject the task id)."""

    person_id: PersonId
    kind: str
    project_id: str
    subject: str
    score: int | None
    answer: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class FeedbackGroup:
    """Feedback of one kind, project, subject and answer: how many, the sum of their scores,
    and how many gave each score 1..5."""

    kind: str
    project_id: str
    subject: str
    answer: str
    count: int
    total: int
    scores: tuple[int, ...]


@dataclass(frozen=True)
class FeedbackRow:
    kind: str
    project_id: str
    subject: str
    score: int | None
    answer: str
    comment: str
    at: datetime
