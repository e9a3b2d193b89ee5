"""`wayfinder content reload`: ask every running bot to load the content folder again."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from bot.engine import utcnow
from bot.model import PersonId
from bot.ports import UnitOfWork
from bot.records import Audit
from bot.reload import RELOAD_ACTION
from storage.repository import SqlStore


async def request_content_reload(config: Config, folder: Path, by: str) -> int:
    """Write the request (an audit row) that running processes poll; returns its id.
    Validate the folder first: this only asks, the bots validate again before swapping."""
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.start()
    try:
        await store.commit(UnitOfWork(PersonId(0), records=[
            Audit(by, RELOAD_ACTION, str(folder)[:1000], utcnow())]))
        return await store.latest_audit_id(RELOAD_ACTION)
    finally:
        await store.close()
