"""The account feature's records: one-time link codes, and the merge of two people into one
when a code links their identities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


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

    def forgets(self) -> tuple[PersonId, ...]:
        return self.source, self.target
