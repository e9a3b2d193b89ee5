"""What the mentoring feature reads from the store: cases, mentors' loads and states, due
escalations and nudges. Handlers and due scans get it through `reads_of(turn.reads)`; the
composition root checks statically that its store has these (bot/app.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from bot.model import Identity, PersonId
from bot.ports import Reads, conforms
from flows.mentoring.records import Case, MentorState, Nudge


@runtime_checkable
class MentoringReads(Reads, Protocol):
    """The mentoring handlers' and due scans' reads."""

    async def case(self, code: str) -> Case | None: ...

    async def open_case_of(self, person_id: PersonId) -> Case | None: ...

    async def cases_of_mentor(self, mentor_key: str) -> list[Case]: ...

    async def mentor_loads(self) -> dict[str, int]: ...

    async def mentor_states(self) -> dict[str, MentorState]: ...

    async def person_of(self, identity: Identity) -> PersonId | None:
        """Who an account is, if it has written to the bot (its stored language)."""

    async def due_escalations(self, now: datetime) -> list[Case]: ...

    async def due_nudges(self, now: datetime, limit: int = 500) -> list[Nudge]: ...


@runtime_checkable
class MentorAssignments(Protocol):
    """The mentors admins added, and the hours mentors set in chat, read once at the start
    (the mentor role's grants)."""

    async def mentor_assignments(self) -> list[tuple[str, str]]: ...

    async def mentor_hours(self) -> dict[str, tuple[str, str]]:
        """Office hours mentors set in chat: mentor key -> (hours, time zone)."""


def assignments_of(reads: object) -> MentorAssignments:
    if not isinstance(reads, MentorAssignments):
        raise TypeError(f"{type(reads).__name__} lacks the mentors admins added")
    return reads


def reads_of(reads: Reads) -> MentoringReads:
    """The store behind a turn (or a due scan), as the mentoring feature reads it."""
    if not conforms(reads, MentoringReads):
        raise TypeError(f"{type(reads).__name__} lacks the mentoring feature's reads")
    return cast(MentoringReads, reads)
