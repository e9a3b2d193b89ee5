"""The outbox dispatcher: sends committed replies within each network's limits.

One lane per destination keeps each chat in order, and a network that fails or waits never
stalls the others. Transient failures retry with capped exponential backoff and jitter;
permanent ones, or too many attempts, become dead letters organizers can list.

Replies are handed over by the engine as they commit. Everything else (what was pending at
start-up, fanned-out bulk rows, rows another process queued, deferred rows whose time came)
is read from the store in pages by a feeder, so 100,000 bulk rows never sit in memory.
The feeder marks what it reads "sending"; a row a restart finds still "sending" may have
reached the network, so it is sent again with the same idempotency key (adapters that
support it deduplicate) and counted as a possible duplicate.
Delivered rows are marked in batches; a crash between send and mark re-sends on restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from bot.config import OutboxConfig
from bot.model import Network, outbound_from_json
from bot.ports import (
    Adapter,
    OutboxRow,
    PermanentSendError,
    SendsInParts,
    Store,
    TransientSendError,
    UnknownDeliveryError,
)
from bot.ratelimit import TokenBucket

log = logging.getLogger(__name__)


class _StoreWriteError(Exception):
    """Recording a sent part failed because of the store: not the adapter's attempt."""

Sleep = Callable[[float], Awaitable[None]]
# A row may carry, under DEFER_KEY, data for a deferral the composition root supplies (a
# feature's policy, opaque here): (now, data) -> the time it must wait for, or None.
DeferUntil = Callable[[datetime, str], datetime | None]
DEFER_KEY = "defer"
MARK_DELAY_SECONDS = 0.05
FEED_PAGE = 500
ENQUEUE_SLICE = 100
FEED_HIGH_WATER = 2000  # rows queued in lanes before the feeder waits
FEED_INTERVAL_SECONDS = 2.0  # look again for rows other processes queued or deferred


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    def __init__(self, store: Store, adapters: Mapping[Network, Adapter], config: OutboxConfig,
                 sleep: Sleep = asyncio.sleep, monotonic: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = _utcnow, defer: DeferUntil | None = None,
                 feed_interval: float = FEED_INTERVAL_SECONDS) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.config = config
        self._sleep = sleep
        self._now = now
        self.defer = defer
        self.feed_interval = feed_interval
        self._lanes: dict[tuple[Network, str], deque[OutboxRow]] = {}
        self._lane_tasks: set[asyncio.Task[None]] = set()
        self._buckets: dict[Network, TokenBucket] = {}
        self._parted = {network: adapter for network, adapter in self.adapters.items()
                        if isinstance(adapter, SendsInParts)}
        self._tasks: list[asyncio.Task[None]] = []
        self._sent: list[int] = []
        self._sent_event = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._mark_lock = asyncio.Lock()
        self._queued: set[int] = set()
        # Delivered, not yet marked sent in the store: the feeder must not read them again.
        self._unmarked: set[int] = set()
        # Rows that left both sets while the feeder was reading: its page may predate that.
        self._reading = 0
        self._left_while_reading: set[int] = set()
        self._poke = asyncio.Event()
        self._fed = asyncio.Event()  # a feed pass found nothing more to send
        self._room = asyncio.Event()
        self._full = False  # the feeder waits for _room: set it once the lanes make room
        self._startup_bound = 0
        self._started = False
        self.delivered = 0
        # Per network: sent, throttled (429 and the like), failed (will retry), refused.
        self.sends: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.dead = 0
        self.unknown = 0
        self.deferred = 0
        self.resent = 0
        for network, adapter in self.adapters.items():
            if adapter.capabilities.rate is not None:
                self._buckets[network] = TokenBucket(adapter.capabilities.rate, monotonic, sleep)

    async def start(self) -> None:
        """Start sending, and feed in everything still pending from before a restart."""
        self._started = True
        # Replies committed from now on come through enqueue(); the feeder reads only older
        # ones, and bulk rows, so no row has two ways in.
        self._startup_bound = await self.store.max_outbox_id()
        for key in list(self._lanes):
            self._open_lane(key)
        self._tasks.append(asyncio.create_task(self._mark_loop(), name="outbox-marks"))
        self._tasks.append(asyncio.create_task(self._feed_loop(), name="outbox-feeder"))
        if self.store.lease_seconds:  # several processes share the store
            self._tasks.append(asyncio.create_task(self._renew_loop(self.store.lease_seconds),
                                                   name="outbox-leases"))

    def poke(self) -> None:
        """Something new may wait in the store (bulk rows fanned out): feed now."""
        self._fed.clear()
        self._poke.set()

    def enqueue(self, rows: Iterable[OutboxRow]) -> None:
        """Queue rows in their lane: one lane per destination keeps each chat in order, while
        a slow or rate-limited chat never holds up the others."""
        queued = self._queued
        added = False
        for row in rows:
            if row.network not in self.adapters:
                log.warning("no adapter for %s; outbox row %d stays pending", row.network, row.id)
                continue
            if row.id in queued or row.id in self._unmarked:
                continue
            queued.add(row.id)
            added = True
            target = row.body.get("to", {})
            key = (row.network, f"{target.get('kind', '')}:{target.get('id', '')}")
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = deque()
                if self._started:
                    self._open_lane(key)
            lane.append(row)
        if added:
            self._idle.clear()

    async def withdraw_erased(self) -> int:
        """Drop queued rows the store no longer has (their person was erased): they go
        nowhere. The row a lane is sending is checked before it is tried again."""
        queued = [row.id for lane in self._lanes.values() for row in list(lane)[1:]]
        present: set[int] = set()
        for start in range(0, len(queued), 500):
            present |= await self.store.outbox_present(queued[start:start + 500])
        gone = set(queued) - present
        if not gone:
            return 0
        for lane in self._lanes.values():
            for row in [r for r in list(lane)[1:] if r.id in gone]:
                lane.remove(row)
        self._leave(self._queued, gone)
        if not self._queued:
            self._idle.set()
        log.info("withdrew %d queued messages whose rows were erased", len(gone))
        return len(gone)

    async def _erased(self, row_id: int) -> bool:
        """Whether a row was erased while it waited (a store failure counts as not)."""
        try:
            return row_id not in await self.store.outbox_present([row_id])
        except Exception as exc:
            if not self.store.is_store_failure(exc):
                raise
            return False

    def _open_lane(self, key: tuple[Network, str]) -> None:
        # The lane takes itself out of _lane_tasks as it ends, rather than by a done
        # callback: a lane starts for nearly every reply, and the callback is one more
        # handle through the event loop each time (with the other shortcuts of the common
        # path here, 785k -> 769k instructions a message in bench.core).
        task = asyncio.get_running_loop().create_task(self._lane(key),
                                                      name=f"out-{key[0]}-{key[1]}")
        self._lane_tasks.add(task)

    def backlog(self) -> int:
        """Replies queued or being sent right now."""
        return len(self._queued)

    async def drain(self, within: float) -> bool:
        """Wait until everything sendable is delivered, dead, unknown or deferred (the
        feeder's pass included); False if time ran out."""
        try:
            async with asyncio.timeout(within):
                if not self._started:
                    return not self._queued
                while True:
                    await self._fed.wait()
                    await self._idle.wait()
                    await self._flush_marks()
                    if self._fed.is_set() and self._idle.is_set():
                        return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._lane_tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._lane_tasks.difference_update(tasks)  # lanes cancelled before they began
        for bucket in self._buckets.values():
            await bucket.close()
        await self._flush_marks()
        try:
            await self.store.release_leases()  # what is left, another process sends now
        except Exception:
            log.warning("could not release this process's outbox leases; they run out "
                        "after %.0f s", self.store.lease_seconds)

    async def _lane(self, key: tuple[Network, str]) -> None:
        lane = self._lanes[key]
        queued = self._queued
        try:
            while lane:
                row = lane[0]
                later = False
                try:
                    later = await self._deliver(key[0], row)
                except Exception:
                    log.exception("delivering outbox row %d failed; it stays pending", row.id)
                finally:
                    lane.popleft()
                    if not later:  # _leave(queued, (row.id,)), written out: once per reply
                        queued.discard(row.id)
                        if self._reading:
                            self._left_while_reading.add(row.id)
                        self._make_room()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]
            if not queued:
                self._idle.set()
            if (task := asyncio.current_task()) is not None:
                self._lane_tasks.discard(task)

    def _leave(self, where: set[int], ids: Iterable[int]) -> None:
        for row_id in ids:
            where.discard(row_id)
            if self._reading:
                self._left_while_reading.add(row_id)
        self._make_room()

    def _make_room(self) -> None:
        """Wake the feeder waiting for room once the lanes hold few enough rows."""
        if self._full and len(self._queued) < FEED_HIGH_WATER // 2:
            self._full = False
            self._room.set()

    # -- the feeder ------------------------------------------------------------------------
    async def _renew_loop(self, lease: float) -> None:
        """The rows queued here stay this process's while it runs, however long the feeder
        waits for room (a long backlog behind a rate limit)."""
        while True:
            await asyncio.sleep(lease / 3)
            try:
                await self.store.renew_leases()
            except Exception:
                log.warning("could not renew this process's outbox leases; trying again",
                            exc_info=True)

    async def _feed_loop(self) -> None:
        while True:
            self._poke.clear()
            self._fed.clear()
            try:
                await self.store.release_deferred(self._now())
                await self._feed_pass()
            except Exception:
                log.exception("reading pending outbox rows failed; trying again shortly")
            self._fed.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.feed_interval):
                    await self._poke.wait()

    async def _feed_pass(self) -> None:
        after = 0
        networks = list(self.adapters)
        while True:
            while len(self._queued) >= FEED_HIGH_WATER:
                self._full = True
                self._room.clear()
                await self._room.wait()
            self._reading += 1
            try:
                rows = await self.store.pending_page(after, FEED_PAGE, networks,
                                                     self._startup_bound)
            finally:
                self._reading -= 1
            fresh = [r for r in rows if r.id not in self._queued and r.id not in self._unmarked
                     and r.id not in self._left_while_reading]
            if not self._reading:
                self._left_while_reading.clear()
            if fresh:
                await self.store.mark_sending(fresh)
                self.resent += sum(1 for r in fresh if r.status == "sending")
                for start in range(0, len(fresh), ENQUEUE_SLICE):
                    # Lanes start a slice at a time, so senders run between slices.
                    self.enqueue(fresh[start:start + ENQUEUE_SLICE])
                    await asyncio.sleep(0)
            if len(rows) < FEED_PAGE:
                return
            after = rows[-1].id

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.max_retry_seconds,
                   self.config.first_retry_seconds * 2.0 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)

    async def _deliver(self, network: Network, row: OutboxRow) -> bool:
        """Send one row; True if it was set aside to be tried again later (it stays queued)."""
        adapter = self.adapters[network]
        bucket = self._buckets.get(network)
        message = row.message
        attempts = row.attempts
        parts_done = row.parts_sent
        parted = self._parted.get(network)

        async def part_sent(count: int) -> None:
            """Kept before the next part goes: a retry, even after a crash, sends the rest."""
            nonlocal parts_done
            parts_done = count
            try:
                await self.store.mark_parts(row.id, count)
            except Exception as exc:
                if self.store.is_store_failure(exc):
                    raise _StoreWriteError from exc
                raise
            if bucket is not None:
                await bucket.acquire()  # every part is a message under the network's rate

        deferral = row.body.get(DEFER_KEY)
        if deferral and self.defer is not None:
            # Checked when it goes, however long the queue took: it may have to wait.
            until = self.defer(self._now(), deferral)
            if until is not None:
                self.deferred += 1
                await self.store.defer(row.id, until)
                return False
        while True:
            if bucket is not None:
                await bucket.acquire()
            # Parsed once the bucket lets the row go: a page of 500 fed rows parsed at once
            # held the loop long enough to overflow a fast bucket.
            message = message or outbound_from_json(row.body)
            try:
                if parted is not None:
                    await parted.send_parts(message, row.idempotency_key, parts_done, part_sent)
                else:
                    await adapter.send(message, row.idempotency_key)
            except _StoreWriteError as failed:
                return self._store_failed(replace(row, attempts=attempts, message=message,
                                                  parts_sent=parts_done), failed.__cause__)
            except PermanentSendError as exc:
                self.sends[row.network]["refused"] += 1
                await self._dead(row, f"permanent: {exc}")
                return False
            except UnknownDeliveryError as exc:
                log.warning("outbox row %d to %s: delivery unknown: %s", row.id, row.network, exc)
                self.unknown += 1
                await self.store.mark_unknown(row.id, str(exc))
                return False
            except (TransientSendError, OSError, TimeoutError) as exc:
                retry_after = exc.retry_after if isinstance(exc, TransientSendError) else None
                self.sends[row.network]["throttled" if retry_after is not None else "failed"] += 1
                # "Too many, retry after" is the network pacing us, not a failed attempt: a
                # long burst would otherwise use up a row's attempts waiting its turn.
                if retry_after is None:
                    attempts += 1
                    if attempts >= self.config.max_attempts:
                        await self._dead(row, f"gave up after {attempts} attempts: {exc}")
                        return False
                    if not await self._mark_retry(row, str(exc)):
                        return self._store_failed(replace(row, attempts=attempts - 1,
                                                          message=message,
                                                          parts_sent=parts_done), None)
                if retry_after is not None and bucket is not None:
                    bucket.pause(retry_after)  # the whole connection waits, not only this row
                else:
                    await self._sleep(retry_after if retry_after is not None
                                      else self._backoff(attempts))
                if await self._erased(row.id):  # its person was forgotten meanwhile
                    return False
                continue
            except Exception as exc:  # a bug in the adapter, or this row trips one
                attempts += 1
                reason = f"{type(exc).__name__}: {exc}"
                log.error("outbox row %d to %s: unexpected error from the adapter (attempt %d)",
                          row.id, row.network, attempts, exc_info=exc)
                if attempts >= self.config.max_attempts:
                    await self._dead(row, f"gave up after {attempts} attempts: {reason}")
                    return False
                if not await self._mark_retry(row, reason):
                    return self._store_failed(replace(row, attempts=attempts - 1,
                                                      message=message, parts_sent=parts_done),
                                              None)
                # Set aside, not retried in place: the rest of its lane goes on meanwhile.
                self._retry_later(replace(row, attempts=attempts, message=message,
                                          parts_sent=parts_done),
                                  self._backoff(attempts))
                return True
            self.delivered += 1
            self.sends[row.network]["sent"] += 1
            if not self._sent:  # the first to mark since the last flush (which clears the event)
                self._sent_event.set()
            self._sent.append(row.id)
            self._unmarked.add(row.id)
            return False

    async def _mark_retry(self, row: OutboxRow, reason: str) -> bool:
        """Count a failed attempt; False if the store could not (then it is not counted)."""
        try:
            await self.store.mark_retry(row.id, reason)
        except Exception as exc:
            if not self.store.is_store_failure(exc):
                raise
            log.warning("outbox row %d to %s: could not count the failed attempt: %s",
                        row.id, row.network, exc)
            return False
        return True

    def _store_failed(self, row: OutboxRow, exc: BaseException | None) -> bool:
        """A store write while sending failed: the store's fault, not the adapter's, so it
        costs the row no attempt; it is set aside and tried again after a back-off."""
        if exc is not None:
            log.warning("outbox row %d to %s: the store failed (%s); not counted as an "
                        "attempt, trying again later", row.id, row.network, exc)
        self._retry_later(row, self._backoff(max(row.attempts, 1)))
        return True

    def _retry_later(self, row: OutboxRow, delay: float) -> None:
        async def wait_then_queue() -> None:
            await self._sleep(delay)
            self._queued.discard(row.id)  # queued again at once: enqueue skips queued rows
            if not await self._erased(row.id):  # erased meanwhile: it goes nowhere
                self.enqueue((row,))

        task = asyncio.create_task(wait_then_queue(), name=f"out-retry-{row.id}")
        self._lane_tasks.add(task)
        task.add_done_callback(self._lane_tasks.discard)

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
                self._leave(self._unmarked, ids)
