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
    keys: tuple[str, ...] = ()  # their identities' "network:id" keys, as the turn read them

    def forgets(self) -> tuple[PersonId, ...]:
        return (self.person_id,)

    def erases(self) -> tuple[str, ...]:
        return self.keys
