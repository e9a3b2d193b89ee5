"""The broadcaster: fans due broadcasts out into the outbox, in batches that survive a crash.

A broadcast is a row with a due time. When it is due, its recipients are read in person-id
order, a batch at a time; each batch's outbox rows and the broadcast's cursor commit
together, so a restart resumes after the last committed batch and nobody is queued twice
(an outbox key per person and event makes that hold even if the cursor were lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.duework import DueLedger
from flows.events.reads import BroadcastStore
from flows.events.records import Audience, Broadcast, Compose

log = logging.getLogger(__name__)

# What to send for a broadcast: its audience and one recipient's message; None: not any more
# (the event is gone), and the broadcast is closed.
Plan = Callable[[Broadcast, datetime], Awaitable[tuple[Audience, Compose] | None]]


class Broadcaster:
    def __init__(self, store: BroadcastStore, plan: Plan, batch: int, queued: Callable[[], None],
                 clock: Callable[[], datetime], max_attempts: int = 5) -> None:
        self.store = store
        self.max_attempts = max_attempts  # failures before a broadcast is a dead letter
        self.clock = clock
        self.plan = plan
        self.batch = batch
        self.queued = queued  # tells the dispatcher there is something new to send
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[int]] = set()
        self.fanned_out = 0

    async def run_due(self) -> int:
        """Fan out every due broadcast; returns how many messages were queued. A call while
        another runs waits for it first, so that when it returns, everything due by then is
        in the outbox (a tick right after a confirmation used to return before the kicked
        fan-out had queued anything)."""
        async with self._lock:
            total = 0
            ledger = DueLedger(self.store, self.max_attempts)
            due = await self.store.due_broadcasts(self.clock())
            await ledger.load([f"broadcast:{broadcast.id}" for broadcast in due])
            for broadcast in due:
                key = f"broadcast:{broadcast.id}"
                if ledger.dead(key):
                    continue
                try:  # one broken broadcast never holds up the others
                    total += await self._fan_out(broadcast)
                except Exception as exc:
                    if self.store.is_store_failure(exc):  # not the broadcast's fault
                        log.warning("broadcast %d: the store failed (%s); not counted, the "
                                    "next tick tries again", broadcast.id,
                                    getattr(exc, "orig", None) or exc)
                        return total
                    await ledger.failed(key, exc, self.clock())
                    if ledger.dead(key):
                        await self.store.close_broadcast(broadcast.id, "failed")
                    continue
                await ledger.succeeded(key)
            return total

    def kick(self) -> None:
        """Run what is due soon, off the caller's path (a broadcast was just confirmed)."""
        task = asyncio.create_task(self.run_due(), name="broadcast-fan-out")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _fan_out(self, broadcast: Broadcast) -> int:
        planned = await self.plan(broadcast, self.clock())
        if planned is None:
            log.warning("broadcast %d: event %s is gone; closing it", broadcast.id,
                        broadcast.event_id)
            await self.store.close_broadcast(broadcast.id, "cancelled")
            return 0
        audience, compose = planned
        total = 0
        while True:
            queued = await self.store.fan_out(broadcast, audience, compose, self.batch)
            if not queued:
                break
            total += queued
            self.fanned_out += queued
            self.queued()
        if total:
            log.info("broadcast %d (%s of %s): %d messages queued", broadcast.id,
                     broadcast.kind, broadcast.event_id, total)
        return total
