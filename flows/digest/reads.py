"""What the digest reads from the store: its readers, the funnel's week and dead letters,
and (through mentoring's and events' own reads on the same store) cases and events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.ports import Reads
from flows.digest.records import Recipient
from flows.mentoring.api import Case


@runtime_checkable
class DigestReads(Reads, Protocol):
    async def digest_due(self, week: datetime, limit: int) -> list[Recipient]:
        """Readers not yet sent the digest of `week`."""

    async def funnel_counts(self, since: datetime) -> dict[str, int]:
        """Progress events by kind since `since`."""

    async def dead_letter_counts(self) -> tuple[int, int]:
        """(messages the outbox gave up on, due work that became a dead letter)."""

    async def all_cases(self) -> Sequence[Case]: ...


def reads_of(reads: Reads) -> DigestReads:
    if not isinstance(reads, DigestReads):
        raise TypeError(f"{type(reads).__name__} lacks the digest feature's reads")
    return reads
