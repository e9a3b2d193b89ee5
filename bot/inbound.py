"""One inbound processor for every adapter: each person's events in order, a global bound on
how many are handled at once, and a bounded wait for the rest, which back-pressures the adapter.

Every adapter gets the processor as its InboundSink. Events wait in one queue per sender
(network + external id); a sender whose next event may run takes its turn in a round of
ready senders, so a flood from one person queues behind that person only and holds at most
one of the `max_in_flight` slots. At most `max_queued` events wait: beyond that an awaiting
adapter waits in its call, and one whose callbacks are synchronous (a socket's read callback)
hands its event over with `submit` and pauses its source until `wait_for_room`. The first
event of a sender with nothing waiting or running is let in at once up to twice that bound,
so one person's backlog filling the queue does not make everyone else wait in line.
No task is made per event: at most `max_in_flight` workers run, and end when idle; an
awaiting caller whose sender is idle, while no other sender waits for a slot, handles its
event in its own task (the common case costs no hand-over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from bot.model import Inbound
from bot.ports import InboundSink, Outcome

log = logging.getLogger(__name__)

Sender = tuple[str, str]  # (network, external id)


@dataclass(eq=False, slots=True)
class _Item:
    inbound: Inbound
    # Its outcome, for a queued event; None for a caller's own event, which it awaits itself.
    done: asyncio.Future[Outcome] | None


def _sender(inbound: Inbound) -> Sender:
    sender = inbound.sender
    return (sender.network, sender.external_id)


class InboundProcessor:
    def __init__(self, handle: InboundSink, max_in_flight: int = 64,
                 max_queued: int = 1000) -> None:
        if max_in_flight < 1 or max_queued < 1:
            raise ValueError("max_in_flight and max_queued must be at least 1")
        self.handle = handle
        self.max_in_flight = max_in_flight
        self.max_queued = max_queued
        self.queued = 0  # events waiting for their turn (not yet being handled)
        self.in_flight = 0  # events being handled now
        self.peak_in_flight = 0
        self._senders: dict[Sender, deque[_Item]] = {}  # head: running or next to run
        self._ready: deque[Sender] = deque()  # senders whose head may start, in turn
        self._workers: set[asyncio.Task[None]] = set()
        self._callers = 0  # slots held by callers handling their own event
        self._closed = False  # no new workers: what was left is cancelled
        self._closing = False  # close() has begun: new events are refused (FAILED)
        self._idle = asyncio.Event()  # set when the last worker or caller finishes
        self._room: deque[asyncio.Future[None]] = deque()  # callers waiting for room
        self._lined: dict[Sender, int] = {}  # senders with callers waiting for room

    @property
    def full(self) -> bool:
        return self.queued >= self.max_queued

    @property
    def workers(self) -> int:
        return len(self._workers)

    async def __call__(self, inbound: Inbound) -> Outcome:
        """The awaiting sink: wait for room, then for this event's outcome."""
        sender = inbound.sender
        key = (sender.network, sender.external_id)
        senders = self._senders
        # The common case, a few checks: an idle sender, nobody waiting, a free slot.
        if key in senders or key in self._lined or self.queued >= 2 * self.max_queued:
            await self.wait_for_room(key)
        if self._closing:
            return Outcome.FAILED  # not handled, not confirmed: the network may send it again
        if key in senders or self._ready or \
                len(self._workers) + self._callers >= self.max_in_flight:
            return await self.submit(inbound)
        waiting = deque((_Item(inbound, None),))
        senders[key] = waiting  # the sender is busy: its next events queue behind
        self._callers += 1
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight
        try:
            return await self.handle(inbound)
        except Exception:
            log.exception("could not handle %s from %s", inbound.event_id, inbound.sender.key)
            return Outcome.FAILED
        finally:
            self._callers -= 1
            self._finished(key, waiting)
            # What _spawn and _settle first ask, without their calls on most events.
            if self._ready:
                self._spawn()
            if not self._callers:
                self._settle()

    def submit(self, inbound: Inbound) -> asyncio.Future[Outcome]:
        """Queue an event without waiting, even past the bound: for a caller that cannot
        wait (a synchronous callback), which then checks `full` and pauses its source. A
        source hands over all its events one way: a submit does not wait behind callers of
        the same sender still waiting for room."""
        key = _sender(inbound)
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        if self._closing:  # refused, and said so at once (nothing would ever resolve it)
            done.set_result(Outcome.FAILED)
            return done
        self.queued += 1
        item = _Item(inbound, done)
        waiting = self._senders.get(key)
        if waiting is not None:
            waiting.append(item)  # behind this sender's running or ready event
            return done
        self._senders[key] = deque([item])
        self._ready.append(key)
        self._spawn()
        return done

    def _spawn(self) -> None:
        """A worker for a ready sender, if a slot is free (a busy worker takes turns)."""
        if self._ready and len(self._workers) + self._callers < self.max_in_flight and \
                not self._closed:
            self._workers.add(asyncio.create_task(self._work(), name="inbound-worker"))

    def _started(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _finished(self, key: Sender, waiting: deque[_Item]) -> None:
        self.in_flight -= 1
        waiting.popleft()
        if waiting:
            self._ready.append(key)  # its next event, after the senders now ready
        else:
            self._senders.pop(key, None)

    async def wait_for_room(self, sender: Sender | None = None) -> None:
        """Return once fewer than `max_queued` events wait; callers get room in turn. An idle
        `sender` (nothing waiting, running or in line) is let in at once, up to twice it."""
        if sender is not None and sender not in self._senders and sender not in self._lined \
                and self.queued < 2 * self.max_queued:
            return
        behind = sender is not None and sender in self._lined  # its earlier call goes first
        if sender is not None:
            self._lined[sender] = self._lined.get(sender, 0) + 1
        try:
            await self._wait_in_line(behind)
        finally:
            if sender is not None:
                left = self._lined.pop(sender) - 1
                if left:
                    self._lined[sender] = left

    async def _wait_in_line(self, behind: bool = False) -> None:
        if not self.full and not self._room and not behind:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._room.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter in self._room:
                self._room.remove(waiter)
            elif waiter.done() and not waiter.cancelled():
                self._make_room()  # pass the room it was given on
            raise
        # The room is this caller's even if an idle sender took more meanwhile: going to the
        # back of the line again could put a sender's later call before this one. The room
        # may hold more than this caller, who may even need none (an idle sender handles its
        # event itself): the next in line looks too.
        self._make_room()

    def _make_room(self) -> None:
        while self._room and not self.full:
            waiter = self._room.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _work(self) -> None:
        try:
            await self._take_turns()
        finally:  # at once, not in a done callback: a submit right after must see it gone
            task = asyncio.current_task()
            if task is not None:
                self._workers.discard(task)
            self._settle()

    def _settle(self) -> None:
        if not self._workers and not self._callers:
            self._idle.set()

    async def _take_turns(self) -> None:
        while self._ready:
            key = self._ready.popleft()
            waiting = self._senders[key]
            item = waiting[0]  # stays at the head while it runs: the sender is busy
            done = item.done
            assert done is not None  # a queued event (a caller's own never waits here)
            self.queued -= 1
            self._started()
            self._make_room()
            try:
                outcome = await self._handle(item.inbound)
            except asyncio.CancelledError:
                done.cancel()
                raise
            finally:
                self._finished(key, waiting)
            if not done.done():
                done.set_result(outcome)

    async def _handle(self, inbound: Inbound) -> Outcome:
        try:
            return await self.handle(inbound)
        except Exception:
            log.exception("could not handle %s from %s", inbound.event_id, inbound.sender.key)
            return Outcome.FAILED

    async def drain(self, within: float) -> bool:
        """Wait up to `within` seconds until nothing waits or runs, whether in a worker or in
        the task of a caller handling its own event; whether it did."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (self._workers or self._callers) and loop.time() < deadline:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), deadline - loop.time())
        return not self._workers and not self._callers

    def stop_intake(self) -> None:
        """Refuse new events from now on (FAILED: not confirmed, so the network delivers them
        again); what was accepted goes on, so a drain() afterwards ends under steady traffic."""
        self._closing = True
        for waiter in self._room:  # callers waiting for room: refused, not left waiting
            if not waiter.done():
                waiter.set_result(None)
        self._room.clear()

    async def close(self, within: float = 5.0) -> None:
        """Refuse new events (FAILED), let what runs and waits finish `within` seconds, then
        cancel the rest: an event not handled was not confirmed to its network, which
        delivers it again. Closing twice is harmless."""
        self.stop_intake()
        if not await self.drain(within):
            log.warning("inbound: %d events still waiting at shutdown; their networks deliver "
                        "them again", self.queued + self.in_flight)
        self._closed = True  # no new workers from here on
        for worker in list(self._workers):
            worker.cancel()
        for worker in list(self._workers):
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        for waiting in self._senders.values():
            for item in waiting:
                if item.done is not None:
                    item.done.cancel()
        self._senders.clear()
        self._ready.clear()
        self.queued = 0
        for waiter in self._room:
            waiter.cancel()
        self._room.clear()
