"""The core's records: the Record base every feature's records extend (flows/<feature>/
records.py, written by storage/<feature>.py), and the audit row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId


@dataclass(frozen=True)
class Record:
    """What a flow asks the store to write with its unit of work. Each feature declares its
    records (flows/<feature>/records.py) and how each applies (storage/<feature>.py)."""

    def forgets(self) -> tuple[PersonId, ...]:
        """People whose cached identities and state are stale once this commits."""
        return ()

    def erases(self) -> tuple[str, ...]:
        """Identity keys ("network:id") erased once this commits: roles granted to them
        in memory go too."""
        return ()


@dataclass(frozen=True)
class Audit(Record):
    identity: str
    action: str
    detail: str
    at: datetime


@dataclass(frozen=True)
class RetryMessage(Record):
    """A dead (or unknown) outbox row sent again: pending, its attempts counted afresh. Fails
    (stale) unless it is still dead or unknown."""

    outbox_id: int
    at: datetime


@dataclass(frozen=True)
class DiscardMessage(Record):
    """A dead (or unknown) outbox row given up on for good: it leaves the dead letters and is
    never sent. Fails (stale) unless it is still dead or unknown."""

    outbox_id: int
    at: datetime
