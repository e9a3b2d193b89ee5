"""The outbox dispatcher: sends committed replies within each network's limits.

One worker per network keeps each network's replies in order, and a network that fails or
waits never stalls the others. Transient failures retry with capped exponential backoff and
jitter; permanent ones, or too many attempts, become dead letters organizers can list.
Delivered rows are marked in batches; a crash between send and mark re-sends on restart,
with the same idempotency key, so adapters that support it deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping

from bot.config import OutboxConfig
from bot.model import Network, outbound_from_json
from bot.ports import (
    Adapter,
    OutboxRow,
    PermanentSendError,
    Store,
    TransientSendError,
    UnknownDeliveryError,
)
from bot.ratelimit import TokenBucket

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
MARK_DELAY_SECONDS = 0.05


class Dispatcher:
    def __init__(self, store: Store, adapters: Mapping[Network, Adapter], config: OutboxConfig,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.config = config
        self._sleep = sleep
        self._lanes: dict[tuple[Network, str], deque[OutboxRow]] = {}
        self._lane_tasks: set[asyncio.Task[None]] = set()
        self._buckets: dict[Network, TokenBucket] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sent: list[int] = []
        self._sent_event = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._mark_lock = asyncio.Lock()
        self._queued: set[int] = set()
        self._started = False
        self.delivered = 0
        self.dead = 0
        self.unknown = 0
        for network, adapter in self.adapters.items():
            if adapter.capabilities.rate is not None:
                self._buckets[network] = TokenBucket(adapter.capabilities.rate)

    async def start(self) -> None:
        """Queue everything still pending from before a restart, then start sending."""
        self._started = True
        for key in list(self._lanes):
            self._open_lane(key)
        self.enqueue(await self.store.pending_outbox())
        self._tasks.append(asyncio.create_task(self._mark_loop(), name="outbox-marks"))

    def enqueue(self, rows: Iterable[OutboxRow]) -> None:
        """Queue rows in their lane: one lane per destination keeps each chat in order, while
        a slow or rate-limited chat never holds up the others."""
        for row in rows:
            if row.network not in self.adapters:
                log.warning("no adapter for %s; outbox row %d stays pending", row.network, row.id)
                continue
            if row.id in self._queued:
                continue
            self._queued.add(row.id)
            self._idle.clear()
            target = row.body.get("to", {})
            key = (row.network, f"{target.get('kind', '')}:{target.get('id', '')}")
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = deque()
                if self._started:
                    self._open_lane(key)
            lane.append(row)

    def _open_lane(self, key: tuple[Network, str]) -> None:
        task = asyncio.create_task(self._lane(key), name=f"out-{key[0]}-{key[1]}")
        self._lane_tasks.add(task)
        task.add_done_callback(self._lane_tasks.discard)

    def backlog(self) -> int:
        """Replies queued or being sent right now."""
        return len(self._queued)

    async def drain(self, within: float) -> bool:
        """Wait until every queued reply is delivered, dead or unknown; False if time ran out."""
        try:
            async with asyncio.timeout(within):
                if not self._started:
                    return not self._queued
                await self._idle.wait()
                await self._flush_marks()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._lane_tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._flush_marks()

    async def _lane(self, key: tuple[Network, str]) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                row = lane[0]
                try:
                    await self._deliver(key[0], row)
                except Exception:
                    log.exception("delivering outbox row %d failed; it stays pending", row.id)
                finally:
                    lane.popleft()
                    self._queued.discard(row.id)
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
            if not self._queued:
                self._idle.set()

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.max_retry_seconds,
                   self.config.first_retry_seconds * 2.0 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    async def _deliver(self, network: Network, row: OutboxRow) -> None:
        adapter = self.adapters[network]
        bucket = self._buckets.get(network)
        message = row.message or outbound_from_json(row.body)
        attempts = row.attempts
        while True:
            if bucket is not None:
                await bucket.acquire()
            try:
                await adapter.send(message, row.idempotency_key)
            except PermanentSendError as exc:
                await self._dead(row, f"permanent: {exc}")
                return
            except UnknownDeliveryError as exc:
                log.warning("outbox row %d to %s: delivery unknown: %s", row.id, row.network, exc)
                self.unknown += 1
                await self.store.mark_unknown(row.id, str(exc))
                return
            except (TransientSendError, OSError, TimeoutError) as exc:
                attempts += 1
                if attempts >= self.config.max_attempts:
                    await self._dead(row, f"gave up after {attempts} attempts: {exc}")
                    return
                await self.store.mark_retry(row.id, str(exc))
                retry_after = exc.retry_after if isinstance(exc, TransientSendError) else None
                if retry_after is not None and bucket is not None:
                    bucket.pause(retry_after)  # the whole connection waits, not only this row
                else:
                    await self._sleep(retry_after if retry_after is not None
                                      else self._backoff(attempts))
                continue
            self.delivered += 1
            self._sent.append(row.id)
            self._sent_event.set()
            return

    async def _dead(self, row: OutboxRow, reason: str) -> None:
        log.warning("outbox row %d to %s is a dead letter: %s", row.id, row.network, reason)
        self.dead += 1
        await self.store.mark_dead(row.id, reason)

    async def _mark_loop(self) -> None:
        while True:
            await self._sent_event.wait()
            # Marks are bookkeeping, not on anyone's path: gather them for a moment, so they
            # do not take the writer from the messages people are waiting for.
            await asyncio.sleep(MARK_DELAY_SECONDS)
            await self._flush_marks()

    async def _flush_marks(self) -> None:
        async with self._mark_lock:  # a drain waits for a flush already under way
            self._sent_event.clear()
            if self._sent:
                ids, self._sent = self._sent, []
                await self.store.mark_sent(ids)
