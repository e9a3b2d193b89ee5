"""Buddies at an event, for organizers at the command line (`wayfinder buddies EVENT`)."""

from __future__ import annotations

from bot.config import Config
from services.store import maintenance_store


async def buddy_pairs(config: Config, event_id: str) -> list[tuple[str, str]]:
    """(first-timer, buddy) as identity keys, the buddy "" while none is found; then the
    free volunteers as ("", volunteer)."""
    async with maintenance_store(config) as store:
        return await store.buddy_pairs(event_id)
