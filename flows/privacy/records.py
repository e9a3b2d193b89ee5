"""The privacy feature's record: erasing a person."""

from __future__ import annotations

from dataclasses import dataclass

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class ErasePerson(Record):
    """Delete everything held about `person_id` and their identities, in every table a
    storage module declares person data in (storage/privacy.py), after everything else the
    same batch wrote."""

    person_id: PersonId

    def forgets(self) -> tuple[PersonId, ...]:
        return (self.person_id,)
