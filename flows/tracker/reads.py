"""What the tracker feature reads from the store (the task cache) and what its refresh
writes: handlers get the reads through `reads_of(turn.reads)`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol, cast, runtime_checkable

from bot.ports import Reads, conforms
from flows.tracker.records import LiveTask, SourceStanding


@runtime_checkable
class TrackerReads(Reads, Protocol):
    """A hand-off's reads: a project's cached open tasks (the best matches first), one
    cached task, and each source's standing."""

    async def open_live_tasks(self, project_id: str) -> list[LiveTask]: ...

    async def best_live_tasks(self, project_id: str, sources: Collection[str],
                              wanted: Collection[str], skip: Collection[str],
                              limit: int) -> list[LiveTask]: ...

    async def live_task(self, task_id: str) -> LiveTask | None: ...

    async def source_standings(self) -> list[SourceStanding]: ...


@runtime_checkable
class TrackerStore(TrackerReads, Protocol):
    """What the refresh writes (flows/tracker/service.py)."""

    async def replace_live_tasks(self, standing: SourceStanding,
                                 tasks: Sequence[LiveTask] | None) -> None: ...

    async def source_failed(self, standing: SourceStanding) -> None: ...

    async def forget_sources(self, keep: Sequence[str]) -> int: ...


def reads_of(reads: Reads) -> TrackerReads:
    if not conforms(reads, TrackerReads):
        raise TypeError(f"{type(reads).__name__} lacks the tracker feature's reads")
    return cast(TrackerReads, reads)
