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
from collections.abc import Awaitable, Callable, Iterable, Mapping

from bot.config import OutboxConfig
from bot.model import Network, outbound_from_json
from bot.ports import Adapter, OutboxRow, PermanentSendError, Store, TransientSendError
from bot.ratelimit import TokenBucket

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Dispatcher:
    def __init__(self, store: Store, adapters: Mapping[Network, Adapter], config: OutboxConfig,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.config = config
        self._sleep = sleep
        self._queues: dict[Network, asyncio.Queue[OutboxRow]] = {}
        self._buckets: dict[Network, TokenBucket] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._sent: list[int] = []
        self._sent_event = asyncio.Event()
        self._mark_lock = asyncio.Lock()
        self._queued: set[int] = set()
        self.delivered = 0
        self.dead = 0
        for network, adapter in self.adapters.items():
            self._queues[network] = asyncio.Queue()
            if adapter.capabilities.rate is not None:
                self._buckets[network] = TokenBucket(adapter.capabilities.rate)

    async def start(self) -> None:
        """Queue everything still pending from before a restart, then start the workers."""
        self.enqueue(await self.store.pending_outbox())
        for network in self._queues:
            self._tasks.append(asyncio.create_task(self._worker(network), name=f"out-{network}"))
        self._tasks.append(asyncio.create_task(self._mark_loop(), name="outbox-marks"))

    def enqueue(self, rows: Iterable[OutboxRow]) -> None:
        for row in rows:
            queue = self._queues.get(row.network)
            if queue is None:
                log.warning("no adapter for %s; outbox row %d stays pending", row.network, row.id)
                continue
            if row.id not in self._queued:
                self._queued.add(row.id)
                queue.put_nowait(row)

    def backlog(self) -> int:
        """Replies queued or being sent right now."""
        return len(self._queued)

    async def drain(self, within: float) -> bool:
        """Wait until every queued reply is delivered or dead; False if time ran out."""
        try:
            async with asyncio.timeout(within):
                for queue in self._queues.values():
                    await queue.join()
                await self._flush_marks()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._flush_marks()

    async def _worker(self, network: Network) -> None:
        queue = self._queues[network]
        while True:
            row = await queue.get()
            try:
                await self._deliver(network, row)
            except Exception:
                log.exception("delivering outbox row %d failed; it stays pending", row.id)
            finally:
                self._queued.discard(row.id)
                queue.task_done()

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
            await self._flush_marks()

    async def _flush_marks(self) -> None:
        async with self._mark_lock:  # a drain waits for a flush already under way
            self._sent_event.clear()
            if self._sent:
                ids, self._sent = self._sent, []
                await self.store.mark_sent(ids)
