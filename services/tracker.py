"""`wayfinder tasks`: every task source the content declares, with when it was last read and
why its last attempt failed, from the store's standing (the running bot writes it)."""

from __future__ import annotations

from dataclasses import replace

from bot.config import Config
from bot.wiring import load_content
from flows.tracker.content import TrackerContent
from flows.tracker.records import SourceStanding
from services.store import maintenance_store


async def task_sources(config: Config) -> list[SourceStanding]:
    """Declared sources first (never read yet: no times), then any the store still holds."""
    declared = load_content(config.content_path()).of(TrackerContent).all()
    async with maintenance_store(config) as store:
        found = {s.source_key: s for s in await store.source_standings()}
    rows = [found.pop(s.key) if s.key in found else SourceStanding(
        s.key, s.project_id, s.source.kind, None, None, "not read yet", None, 0)
        for s in declared]
    return rows + [replace(s, error="no longer in the content") for s in found.values()]
