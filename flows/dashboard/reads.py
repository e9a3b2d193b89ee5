"""What `!dashboard` reads from the store: the signing key, and the links already issued."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads, conforms


@runtime_checkable
class DashboardReads(Reads, Protocol):
    async def dashboard_key(self) -> str: ...

    async def login_links_since(self, person_id: PersonId, since: datetime) -> int: ...


def reads_of(reads: Reads) -> DashboardReads:
    if not conforms(reads, DashboardReads):
        raise TypeError(f"{type(reads).__name__} lacks the dashboard feature's reads")
    return cast(DashboardReads, reads)
