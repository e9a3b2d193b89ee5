"""Privacy for organizers: a person's export, for someone whose network carries no files."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from services.store import maintenance_store


async def person_export(config: Config, who: str) -> dict[str, Any] | None:
    """Everything held about the person behind "network:id" (or a person id), as `!mydata`
    sends it; None if there is no such person."""
    async with maintenance_store(config) as store:
        person = await store.person_named(who)
        return None if person is None else await store.person_data(person)
