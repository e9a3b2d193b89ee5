"""The refresh of task sources, in the background (Feature.services): on every scheduler tick
each source whose time has come is read in a task of its own, so a tracker that is down or
slow holds up neither the tick nor anyone's turn. A good read replaces the source's cached
tasks whole; a failed one keeps them and notes why (`wayfinder tasks` shows it). The next read
is `refresh_every` later, give or take `jitter`; after a failure `retry_after` later, or at
a rate limit's reset."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.feature import FeatureService, ServiceContext
from bot.http import SHARED_HTTP
from flows.tracker.content import Located, TrackerContent
from flows.tracker.reads import TrackerStore
from flows.tracker.records import LiveTask, SourceStanding
from flows.tracker.settings import TrackerConfig
from flows.tracker.sources import SourceError, fetch

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class TrackerService(FeatureService):
    def __init__(self, context: ServiceContext,
                 jitter: Callable[[], float] = lambda: random.uniform(-1.0, 1.0)) -> None:
        self.context = context
        self.jitter = jitter
        self.client: httpx.AsyncClient | None = None
        self.standings: dict[str, SourceStanding] = {}
        self.running: dict[str, asyncio.Task[None]] = {}
        self._loaded = False

    @property
    def store(self) -> TrackerStore:
        store = self.context.store
        if not isinstance(store, TrackerStore):
            raise TypeError(f"{type(store).__name__} lacks the tracker feature's store")
        return store

    @property
    def settings(self) -> TrackerConfig:
        return self.context.config.settings_of(TrackerConfig)

    async def tick(self) -> int:
        """Start a read of every source that is due; returns how many were started."""
        sources = self.context.content().of(TrackerContent).all()
        if sources and self.client is None:  # a bot without sources never loads httpx
            self.client = await SHARED_HTTP.acquire()
        if not self._loaded:
            self.standings = {s.source_key: s for s in await self.store.source_standings()}
            self._loaded = True
        keys = {s.key for s in sources}
        if set(self.standings) - keys:
            await self.store.forget_sources(sorted(keys))
            self.standings = {k: s for k, s in self.standings.items() if k in keys}
        now = self.context.clock()
        started = 0
        for located in sources:
            standing = self.standings.get(located.key)
            if located.key in self.running or (
                    standing is not None and standing.next_at is not None
                    and standing.next_at > now):
                continue
            self.running[located.key] = asyncio.create_task(
                self._refresh(located), name=f"tracker-refresh:{located.key}")
            started += 1
        return started

    async def settle(self) -> None:
        """Wait for the reads under way (tests, the benchmark)."""
        while self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)

    def _next(self, now: datetime) -> datetime:
        settings = self.settings
        return now + settings.interval * (1 + settings.jitter * self.jitter())

    async def _refresh(self, located: Located) -> None:
        try:
            standing = await self._read(located)
            self.standings[located.key] = standing
        except Exception:  # a store failure: the next tick tries again
            log.exception("task source %s: the refresh could not be kept", located.key)
        finally:
            self.running.pop(located.key, None)

    async def _read(self, located: Located) -> SourceStanding:
        settings = self.settings
        previous = self.standings.get(located.key)
        now = self.context.clock()
        kind = located.source.kind
        assert self.client is not None, "the tracker service is not started"
        try:
            fetched = await fetch(self.client, located, previous.etag if previous else "", now,
                                  settings.request_seconds, settings.max_tasks)
        except SourceError as exc:
            why, retry_at = exc.why, exc.retry_at
        except Exception as exc:  # a bug must not stop the other sources
            log.exception("task source %s: the read failed", located.key)
            why, retry_at = f"internal error ({type(exc).__name__})", None
        else:
            if fetched.tasks is None:
                tasks = None
                count = previous.open_tasks if previous else 0
            else:
                tasks = [LiveTask(located.task_id(t.native_id), located.key,
                                  located.project_id, t.native_id, t.title, t.url,
                                  located.source.skills_for(list(t.labels)), index)
                         for index, t in enumerate(fetched.tasks)]
                count = len(tasks)
            note = (f"more than {settings.max_tasks} tasks: the first {settings.max_tasks} "
                    "kept" if fetched.truncated else "")
            standing = SourceStanding(located.key, located.project_id, kind, now, now, note,
                                      self._next(now), count, fetched.etag)
            await self.store.replace_live_tasks(standing, tasks)
            return standing
        log.warning("task source %s: %s; its last good tasks are kept", located.key, why)
        retry = now + settings.retry
        standing = SourceStanding(
            located.key, located.project_id, kind, previous.refreshed_at if previous else None,
            now, why, max(retry, retry_at) if retry_at else retry,
            previous.open_tasks if previous else 0, previous.etag if previous else "")
        await self.store.source_failed(standing)
        return standing

    async def stop(self) -> None:
        for task in self.running.values():
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
        self.running.clear()
        if self.client is not None:
            self.client = None
            await SHARED_HTTP.release()
