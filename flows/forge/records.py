"""The forge feature's records: a change followed until it is merged or abandoned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class Watch:
    """A change someone named with `!done LINK`, checked again while it is open."""

    person_id: PersonId
    task_id: str
    project_id: str
    link: str
    holder: str  # the identity key that sent the link (for the certificate)
    status: str  # "watching", "merged", "abandoned", "referred", "dropped"
    failures: int  # checks in a row the forge could not answer
    created_at: datetime
    next_check_at: datetime | None


@dataclass(frozen=True)
class WatchChange(Record):
    """Follow this change for the person (replacing the change they named before)."""

    person_id: PersonId
    task_id: str
    project_id: str
    link: str
    holder: str
    at: datetime
    next_check_at: datetime


@dataclass(frozen=True)
class CheckAgain(Record):
    """Checked and still open (failures 0), or the forge could not answer (failures > 0)."""

    person_id: PersonId
    link: str
    failures: int
    next_check_at: datetime


@dataclass(frozen=True)
class EndWatch(Record):
    """Stop following: "merged", "abandoned", "referred" (to a mentor) or "dropped"."""

    person_id: PersonId
    link: str
    outcome: str
