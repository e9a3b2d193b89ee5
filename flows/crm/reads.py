"""What the CRM feature reads from the store: people by name, and what is held about one."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads, conforms
from flows.crm.records import PersonFacts


@runtime_checkable
class CrmReads(Reads, Protocol):
    async def find_people(self, text: str, limit: int = 10) -> list[PersonId]:
        """A person id, an identity ("network:id"), an id on any network, or part of one."""

    async def person_facts(self, person_id: PersonId) -> PersonFacts | None: ...


def reads_of(reads: Reads) -> CrmReads:
    if not conforms(reads, CrmReads):
        raise TypeError(f"{type(reads).__name__} lacks the CRM feature's reads")
    return reads  # type: ignore[return-value]
