"""What the forge feature reads from the store: the changes it follows, people's linked forge
accounts and those whose numbers are due to be read again."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads
from flows.forge.records import ForgeLink, Watch


@runtime_checkable
class ForgeReads(Reads, Protocol):
    async def watch_of(self, person_id: PersonId) -> Watch | None: ...

    async def due_watches(self, now: datetime, limit: int = 50) -> list[Watch]: ...

    async def forge_links(self, person_id: PersonId) -> list[ForgeLink]: ...

    async def due_forge_metrics(self, now: datetime, limit: int = 20) -> list[ForgeLink]: ...


def reads_of(reads: Reads) -> ForgeReads:
    """The store behind a turn (or a due scan), as the forge feature reads it."""
    if not isinstance(reads, ForgeReads):
        raise TypeError(f"{type(reads).__name__} lacks the forge feature's reads")
    return reads
