"""What the path feature reads from the store: task claims. Handlers and due scans get it
through `reads_of(turn.reads)`; the composition root checks statically that its store has
these (bot/app.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads, conforms
from flows.path.records import Certificate, TaskClaim, TaskHandOuts


@runtime_checkable
class PathReads(Reads, Protocol):
    """The path handlers' and due scans' reads."""

    async def active_claim(self, person_id: PersonId) -> TaskClaim | None: ...

    async def task_hand_outs(self, project_id: str | None = None) -> TaskHandOuts:
        """Tasks held now and tasks finished: of one project, or of all."""

    async def idle_claims(self, before: datetime) -> list[TaskClaim]: ...

    async def certificate(self, code: str) -> Certificate | None: ...

    async def certificates_of(self, person_id: PersonId) -> list[Certificate]: ...


def reads_of(reads: Reads) -> PathReads:
    """The store behind a turn (or a due scan), as the path feature reads it."""
    if not conforms(reads, PathReads):
        raise TypeError(f"{type(reads).__name__} lacks the path feature's reads")
    return cast(PathReads, reads)
