"""What the pairing feature reads from the store."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.ports import Reads
from flows.pairing.records import Candidate


@runtime_checkable
class PairingReads(Reads, Protocol):
    async def pair_candidates(self, paired_before: datetime) -> list[Candidate]:
        """People who agreed to pair, work on a project and had no introduction after
        `paired_before`, by project then person id, with their earlier partners."""


def reads_of(reads: Reads) -> PairingReads:
    """The store behind a turn (or a due scan), as the pairing feature reads it."""
    if not isinstance(reads, PairingReads):
        raise TypeError(f"{type(reads).__name__} lacks the pairing feature's reads")
    return reads
