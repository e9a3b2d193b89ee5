"""Domain records that flows ask the store to write, and read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId


@dataclass(frozen=True)
class Record:
    """What a flow asks the store to write with its unit of work. Each feature declares its
    records (flows/<feature>/records.py) and how each applies (storage/<feature>.py)."""

    def forgets(self) -> tuple[PersonId, ...]:
        """People whose cached identities and state are stale once this commits."""
        return ()


@dataclass(frozen=True)
class LinkCode(Record):
    code: str
    person_id: PersonId
    created_at: datetime
    expires_at: datetime
    used: bool


@dataclass(frozen=True)
class UseLinkCode(Record):
    code: str


@dataclass(frozen=True)
class MergePersons(Record):
    """Move everything of `source` onto `target` and delete `source`."""

    source: PersonId
    target: PersonId




@dataclass(frozen=True)
class Audit(Record):
    identity: str
    action: str
    detail: str
    at: datetime
