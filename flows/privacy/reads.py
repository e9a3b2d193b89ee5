"""What the privacy feature reads from the store: everything held about a person."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads


@runtime_checkable
class PrivacyReads(Reads, Protocol):
    async def person_data(self, person_id: PersonId) -> dict[str, Any]:
        """Every row about the person, by table, as JSON-ready values."""


def reads_of(reads: Reads) -> PrivacyReads:
    if not isinstance(reads, PrivacyReads):
        raise TypeError(f"{type(reads).__name__} lacks the privacy feature's reads")
    return reads


@runtime_checkable
class Expires(Protocol):
    """What the daily retention job asks of the store."""

    async def expire(self, before: Mapping[str, datetime]) -> dict[str, int]:
        """Delete or clear what is older than its limit (by limit name); rows by kind."""
