"""What the levelup feature reads from the store."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads
from flows.levelup.records import Levelup


@runtime_checkable
class LevelupReads(Reads, Protocol):
    async def levelup_candidates(self, tasks_needed: int, limit: int) -> list[PersonId]:
        """People with at least `tasks_needed` tasks done who were never invited."""

    async def levelup_of(self, person_id: PersonId) -> Levelup | None: ...

    async def levelups(self, status: str) -> list[Levelup]: ...


def reads_of(reads: Reads) -> LevelupReads:
    if not isinstance(reads, LevelupReads):
        raise TypeError(f"{type(reads).__name__} lacks the levelup feature's reads")
    return reads
