"""APScheduler only ticks: the due times themselves live in the store's tables."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot import lean_apscheduler  # noqa: F401  (before anything loads apscheduler)

# isort: split
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

SCAN_JOB_ID = "scan-due"


class Ticker:
    """Runs `scan` every `interval` seconds; a restart re-reads the tables, so nothing is lost."""

    def __init__(self, scan: Callable[[], Awaitable[Any]], interval: float) -> None:
        self._scan = scan
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # A fixed id with replace_existing: re-adding at start-up never duplicates the job.
        self._scheduler.add_job(self._tick, "interval", seconds=interval, id=SCAN_JOB_ID,
                                replace_existing=True, max_instances=1, coalesce=True,
                                misfire_grace_time=None)

    async def _tick(self) -> None:
        try:
            await self._scan()
        except Exception:
            log.exception("scheduled scan failed; the next tick tries again")

    def start(self) -> None:
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
