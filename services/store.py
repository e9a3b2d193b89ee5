"""The database for one-shot commands: migrated, no writer, no adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Config
from storage.repository import SqlStore


@asynccontextmanager
async def maintenance_store(config: Config) -> AsyncIterator[SqlStore]:
    """The database for a one-shot command: migrated, no writer, no adapters."""
    store = SqlStore.open(config.storage.url, config.storage.durable)
    try:
        await store.migrate()
        yield store
    finally:
        await store.db.dispose()


async def upgrade_database(config: Config) -> str:
    async with maintenance_store(config):
        return config.storage.url
