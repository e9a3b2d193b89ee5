"""The inbound processor (bot/inbound.py): per-sender order, a global bound on events handled
at once, fairness under a flood, back-pressure and outcomes; with a fake handler, real asyncio."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import defaultdict
from datetime import UTC, datetime

import pytest

from adapters.memory import MemoryAdapter
from bot.app import App
from bot.inbound import InboundProcessor
from bot.model import ExternalId, Identity, Inbound, Network, RoomRef
from bot.ports import InboundSink, Outcome
from tests.harness import make_config

NET = Network("memory")
_ids = itertools.count(1)


def event(sender: str, text: str, network: Network = NET) -> Inbound:
    return Inbound(network, f"e{next(_ids)}", RoomRef(network, "#room"),
                   Identity(network, ExternalId(sender), True), text, True, datetime.now(UTC))


def held() -> tuple[asyncio.Event, InboundSink]:
    """A handler that commits each event only once the returned gate is set."""
    gate = asyncio.Event()

    async def handle(inbound: Inbound) -> Outcome:
        await gate.wait()
        return Outcome.COMMITTED

    return gate, handle


class Recorder:
    """A fake Engine.handle: takes `seconds` per event and records what ran when."""

    def __init__(self, seconds: float = 0.0, jitter: float = 0.0) -> None:
        self.seconds, self.jitter = seconds, jitter
        self.running = 0
        self.peak = 0
        self.running_senders: set[tuple[str, str]] = set()
        self.overlap = False  # two events of one sender ran at once
        self.order: dict[str, list[str]] = defaultdict(list)
        self.finished_at: dict[str, float] = {}

    async def __call__(self, inbound: Inbound) -> Outcome:
        key = (str(inbound.sender.network), inbound.sender.external_id)
        self.overlap |= key in self.running_senders
        self.running_senders.add(key)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.seconds + random.uniform(0, self.jitter))
            self.order[inbound.sender.key].append(inbound.text)
            self.finished_at[inbound.event_id] = asyncio.get_running_loop().time()
        finally:
            self.running -= 1
            self.running_senders.discard(key)
        if inbound.text == "boom":
            raise RuntimeError("a bug in the handler")
        return Outcome.FAILED if inbound.text == "fail" else Outcome.COMMITTED


async def test_each_senders_events_are_handled_in_order_under_concurrency() -> None:
    handle = Recorder(seconds=0.0005, jitter=0.002)
    processor = InboundProcessor(handle, max_in_flight=8, max_queued=10_000)
    senders = [f"p{n}" for n in range(20)]
    sent = {s: [f"{s}-{i}" for i in range(30)] for s in senders}
    # The same external id on two networks is two senders.
    other = event("p0", "irc-0", Network("irc"))
    outcomes = await asyncio.gather(
        *(processor(event(s, text)) for i in range(30) for s in senders
          for text in [sent[s][i]]), processor(other))
    assert all(o is Outcome.COMMITTED for o in outcomes)
    assert {f"memory:{s}": sent[s] for s in senders} == \
        {k: v for k, v in handle.order.items() if k.startswith("memory:")}
    assert handle.order["irc:p0"] == ["irc-0"]
    assert not handle.overlap
    assert handle.peak == 8
    await processor.close()


async def test_never_more_than_max_in_flight_are_handled_at_once() -> None:
    handle = Recorder(seconds=0.002)
    processor = InboundProcessor(handle, max_in_flight=4, max_queued=10_000)
    futures = [processor.submit(event(f"p{n}", "hi")) for n in range(300)]
    await asyncio.sleep(0)
    assert processor.workers == 4  # no task per event: the workers take turns
    await asyncio.gather(*futures)
    assert handle.peak == 4 == processor.peak_in_flight
    assert (processor.workers, processor.queued, processor.in_flight) == (0, 0, 0)


async def test_a_flooder_does_not_delay_another_senders_event() -> None:
    seconds = 0.01
    handle = Recorder(seconds=seconds)
    processor = InboundProcessor(handle, max_in_flight=2, max_queued=2000)
    loop = asyncio.get_running_loop()
    flood = [processor.submit(event("flooder", f"spam {n}")) for n in range(1000)]
    await asyncio.sleep(seconds * 3)  # the flood is under way
    began, before = loop.time(), len(handle.order["memory:flooder"])
    newcomer = event("newcomer", "!start")
    assert await processor(newcomer) is Outcome.COMMITTED
    # Counted in handlings, not seconds, so a busy machine cannot make it flaky.
    assert len(handle.order["memory:flooder"]) - before <= 2
    assert handle.finished_at[newcomer.event_id] - began < seconds * 200  # the flood: 10 s
    assert sum(f.done() for f in flood) < 500  # the flood alone takes ten seconds
    assert processor.in_flight <= 1  # the flooder holds one slot, never more
    await processor.close(within=0)
    assert all(f.cancelled() for f in flood if not f.done() or f.cancelled())


async def test_many_flooders_take_turns_with_a_newcomer() -> None:
    seconds = 0.005
    handle = Recorder(seconds=seconds)
    processor = InboundProcessor(handle, max_in_flight=4, max_queued=5000)
    for n in range(4000):  # eight flooders fill every slot, 500 events each
        processor.submit(event(f"flooder{n % 8}", "spam"))
    await asyncio.sleep(seconds * 2)
    before = sum(len(v) for v in handle.order.values())
    await processor(event("newcomer", "hello"))
    # At most one round of the ready senders ahead of it (eight flooders over four slots),
    # not the 4,000 events queued before it.
    assert sum(len(v) for v in handle.order.values()) - before <= 8 + 4 + 1
    await processor.close(within=0)


async def test_the_submitting_call_waits_while_the_queue_is_full_and_then_resumes() -> None:
    gate, handle = held()
    processor = InboundProcessor(handle, max_in_flight=1, max_queued=2)
    calls = [asyncio.create_task(processor(event(f"p{n}", "hi"))) for n in range(3)]
    await asyncio.sleep(0.01)
    assert (processor.in_flight, processor.queued, processor.full) == (1, 2, True)
    blocked = asyncio.create_task(processor(event("p1", "again")))
    await asyncio.sleep(0.01)
    assert not blocked.done()
    assert processor.queued == 2  # the event of a sender with a backlog waits in its call
    # Someone with nothing waiting is let in at once, up to twice the bound.
    fresh = [asyncio.create_task(processor(event(f"new{n}", "hi"))) for n in range(3)]
    await asyncio.sleep(0.01)
    assert processor.queued == 4
    assert [f.done() for f in fresh] == [False] * 3
    gate.set()
    assert await asyncio.wait_for(blocked, 1) is Outcome.COMMITTED
    assert [await c for c in calls + fresh] == [Outcome.COMMITTED] * 6
    assert not processor.full


async def test_a_waiting_caller_that_is_cancelled_passes_its_room_on() -> None:
    gate = asyncio.Event()

    async def handle(inbound: Inbound) -> Outcome:
        await gate.wait()
        return Outcome.IGNORED

    processor = InboundProcessor(handle, max_in_flight=1, max_queued=1)
    first = asyncio.create_task(processor(event("a", "1")))
    second = asyncio.create_task(processor(event("b", "2")))
    await asyncio.sleep(0.01)
    quitter = asyncio.create_task(processor(event("b", "3")))  # behind b's backlog
    stayer = asyncio.create_task(processor(event("b", "4")))
    await asyncio.sleep(0.01)
    quitter.cancel()
    gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(first, second, stayer), 1)
    assert list(outcomes) == [Outcome.IGNORED] * 3
    assert quitter.cancelled()


async def test_each_events_outcome_reaches_its_caller() -> None:
    handle = Recorder()
    processor = InboundProcessor(handle, max_in_flight=3)
    texts = ["ok", "fail", "boom", "ok", "fail"]
    outcomes = await asyncio.gather(*(processor(event("p", t)) for t in texts))
    # A handler that raises is a failed event, not a crashed worker.
    assert outcomes == [Outcome.COMMITTED, Outcome.FAILED, Outcome.FAILED,
                        Outcome.COMMITTED, Outcome.FAILED]
    assert handle.order["memory:p"] == texts


async def test_close_cancels_what_still_waits() -> None:
    _never_set, handle = held()
    processor = InboundProcessor(handle, max_in_flight=1)
    running = processor.submit(event("a", "1"))
    waiting = processor.submit(event("a", "2"))
    await asyncio.sleep(0)
    await processor.close(within=0.01)
    assert running.cancelled()
    assert waiting.cancelled()
    assert processor.workers == 0


def test_the_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InboundProcessor(Recorder(), max_in_flight=0)


async def test_an_awaiting_caller_on_an_idle_processor_handles_its_event_itself() -> None:
    ran_in: list[asyncio.Task[object] | None] = []

    async def handle(inbound: Inbound) -> Outcome:
        ran_in.append(asyncio.current_task())
        return Outcome.COMMITTED

    processor = InboundProcessor(handle, max_in_flight=2)
    caller = asyncio.create_task(processor(event("a", "1")))
    assert await caller is Outcome.COMMITTED
    assert ran_in == [caller]  # no hand-over to a worker task
    assert processor.workers == 0


async def test_a_caller_does_not_jump_ahead_of_senders_waiting_for_a_slot() -> None:
    gate = asyncio.Event()
    handled: list[str] = []

    async def handle(inbound: Inbound) -> Outcome:
        if inbound.text == "first":
            await gate.wait()
        handled.append(inbound.text)
        return Outcome.COMMITTED

    processor = InboundProcessor(handle, max_in_flight=1)
    first = processor.submit(event("a", "first"))
    queued = processor.submit(event("b", "queued"))
    await asyncio.sleep(0)
    late = asyncio.create_task(processor(event("c", "late")))
    await asyncio.sleep(0.01)
    assert handled == []  # the only slot is taken: the late caller waits its turn
    gate.set()
    await asyncio.gather(first, queued, late)
    assert handled == ["first", "queued", "late"]
    assert processor.peak_in_flight == 1


async def test_every_waiting_caller_gets_in_when_room_frees_even_if_the_first_needs_none(
        ) -> None:
    gate, handle = held()
    processor = InboundProcessor(handle, max_in_flight=2, max_queued=1)
    running = processor.submit(event("a", "1"))
    await asyncio.sleep(0)
    behind = processor.submit(event("a", "2"))  # waits behind its own sender: full
    callers = [asyncio.create_task(processor(event("a", n))) for n in ("3", "4")]
    await asyncio.sleep(0.01)
    assert not any(c.done() for c in callers)
    gate.set()
    # The first caller takes a free slot without queueing; the second must not wait for a
    # queued event to start that never comes.
    outcomes = await asyncio.wait_for(asyncio.gather(running, behind, *callers), 1)
    assert list(outcomes) == [Outcome.COMMITTED] * 4


async def test_a_newcomer_is_let_in_at_once_while_a_flooders_backlog_fills_the_queue() -> None:
    handle = Recorder(seconds=0.005)
    processor = InboundProcessor(handle, max_in_flight=4, max_queued=50)
    flood = [asyncio.create_task(processor(event("flooder", f"spam {n}")))
             for n in range(200)]
    await asyncio.sleep(0.02)
    assert processor.queued >= 49  # the flooder's backlog fills the queue; its calls wait
    before = len(handle.order["memory:flooder"])
    assert await processor(event("newcomer", "hi")) is Outcome.COMMITTED
    assert len(handle.order["memory:flooder"]) - before <= 2  # not behind 150 in line
    for call in flood:
        call.cancel()
    await processor.close(within=0)
    await asyncio.gather(*flood, return_exceptions=True)


async def test_a_caller_let_in_keeps_its_place_when_the_queue_fills_again_meanwhile() -> None:
    gate = asyncio.Event()
    handled: list[str] = []
    processor: InboundProcessor

    async def handle(inbound: Inbound) -> Outcome:
        if inbound.text == "s1":
            await gate.wait()
        if inbound.text == "x":  # a socket's line arrives as the room is handed out
            processor.submit(event("line", "irc"))
            await asyncio.sleep(0.01)
        handled.append(inbound.text)
        return Outcome.COMMITTED

    processor = InboundProcessor(handle, max_in_flight=1, max_queued=1)
    first = processor.submit(event("s", "s1"))
    await asyncio.sleep(0)
    other = processor.submit(event("x", "x"))  # full
    later = [asyncio.create_task(processor(event("s", t))) for t in ("s2", "s3")]
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.wait_for(asyncio.gather(first, other, *later), 1)
    assert [t for t in handled if t.startswith("s")] == ["s1", "s2", "s3"]


@pytest.mark.parametrize("seed", range(10))
async def test_order_and_bound_hold_under_mixed_callers_and_small_bounds(seed: int) -> None:
    rng = random.Random(seed)
    handle = Recorder(seconds=0.0002, jitter=0.001)
    processor = InboundProcessor(handle, max_in_flight=rng.randint(1, 4),
                                 max_queued=rng.randint(1, 6))
    sent: dict[str, list[str]] = defaultdict(list)
    calls: list[asyncio.Future[Outcome]] = []
    for n in range(400):
        sender = f"p{rng.randint(0, 9)}"
        text = f"{sender}-{n}"
        sent[f"memory:{sender}"].append(text)
        if sender in ("p0", "p1", "p2"):  # a synchronous source: hands over, never waits
            calls.append(processor.submit(event(sender, text)))
        else:
            calls.append(asyncio.ensure_future(processor(event(sender, text))))
            await asyncio.sleep(0)  # each caller reaches the processor in turn
        if rng.random() < 0.1:
            await asyncio.sleep(0.001)
    outcomes = await asyncio.wait_for(asyncio.gather(*calls), 20)
    assert set(outcomes) == {Outcome.COMMITTED}
    assert dict(handle.order) == dict(sent)
    assert not handle.overlap
    assert handle.peak <= processor.max_in_flight


async def test_drain_waits_for_an_event_handled_in_the_callers_own_task() -> None:
    """drain() waited only for the workers: an event an idle sender's caller handles itself
    (the common path) was not waited for, and shutdown cut it mid-handling."""
    gate = asyncio.Event()
    handle = Recorder()

    async def slow(inbound: Inbound) -> Outcome:
        await gate.wait()
        return await handle(inbound)

    processor = InboundProcessor(slow, max_in_flight=4)
    call = asyncio.create_task(processor(event("a", "hi")))
    await asyncio.sleep(0)
    assert processor.in_flight == 1  # in the caller's own task
    assert processor.workers == 0
    assert not await processor.drain(0.05)
    asyncio.get_running_loop().call_later(0.05, gate.set)
    assert await processor.drain(2)
    assert call.done()
    assert call.result() is Outcome.COMMITTED
    await processor.close(within=0)


async def test_an_event_after_close_is_refused_not_left_unresolved() -> None:
    """submit() after close() returned a future that never resolved."""
    gate, handle = held()
    processor = InboundProcessor(handle, max_in_flight=1, max_queued=1)
    running = asyncio.create_task(processor(event("a", "1")))  # in its own task
    await asyncio.sleep(0)
    for text in ("2", "3"):  # fill the queue, even for an idle sender: the next one waits
        processor.submit(event("b", text))
    waiting = asyncio.create_task(processor(event("c", "3")))
    await asyncio.sleep(0)
    assert not waiting.done()
    await processor.close(within=0.01)
    assert await waiting is Outcome.FAILED  # refused, not left waiting for room
    late = processor.submit(event("d", "4"))
    assert late.done()
    assert late.result() is Outcome.FAILED
    assert await processor(event("e", "5")) is Outcome.FAILED
    await processor.close(within=0)  # twice is harmless
    gate.set()  # the caller's own task was not the processor's to cancel: it finishes
    assert await running is Outcome.COMMITTED


async def test_shutdown_waits_for_an_event_the_adapter_handles_in_its_own_task(
        sqlite_url: str) -> None:
    """serve() cancelled the adapters' tasks before the inbound processor was drained, so
    an event handled in the adapter's own task (an IRC line) was cut mid-handling and lost."""
    started, gate = asyncio.Event(), asyncio.Event()
    outcomes: list[Outcome] = []

    class OneLine(MemoryAdapter):
        async def run(self, sink: InboundSink) -> None:
            self._sink = sink
            outcomes.append(await self.deliver(self.inbound("ana", "!help")))
            await asyncio.Event().wait()

    adapter = OneLine()
    app = App(make_config(sqlite_url, inbound={"shutdown_seconds": 5}), [adapter])
    await app.start(tick=False)
    try:
        handle = app.inbound.handle

        async def slow(inbound: Inbound) -> Outcome:
            started.set()
            await gate.wait()
            return await handle(inbound)

        app.inbound.handle = slow
        serving = asyncio.create_task(app.serve())
        await asyncio.wait_for(started.wait(), 5)
        app.stop()
        await asyncio.sleep(0.1)
        assert not serving.done()  # waiting for the line being handled
        gate.set()
        await asyncio.wait_for(serving, 5)
        assert outcomes == [Outcome.COMMITTED]
        assert sum((await app.store.message_counts()).values()) == 1
    finally:
        await app.close()


async def test_shutdown_under_steady_traffic_waited_out_shutdown_seconds(
        sqlite_url: str) -> None:
    """Regression: serve() drained the processor while the adapters kept submitting, so under
    steady traffic it never became idle and stopping took all of shutdown_seconds."""
    outcomes: list[Outcome] = []

    class Busy(MemoryAdapter):
        async def run(self, sink: InboundSink) -> None:
            self._sink = sink
            for n in itertools.count():  # a new event every 10 ms, from one of five people
                asyncio.ensure_future(self.deliver(self.inbound(f"p{n % 5}", "!help"))
                                      ).add_done_callback(lambda f: outcomes.append(f.result()))
                await asyncio.sleep(0.01)

    app = App(make_config(sqlite_url, inbound={"shutdown_seconds": 10}), [Busy()])
    await app.start(tick=False)
    try:
        handle = app.inbound.handle

        async def slow(inbound: Inbound) -> Outcome:
            await asyncio.sleep(0.05)
            return await handle(inbound)

        app.inbound.handle = slow
        serving = asyncio.create_task(app.serve())
        await asyncio.sleep(0.5)
        app.stop()
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait_for(serving, 10)
        assert loop.time() - began < 2  # not the 10 s of shutdown_seconds
        await asyncio.sleep(0)
        assert Outcome.COMMITTED in outcomes
        committed = outcomes.count(Outcome.COMMITTED)
        assert sum((await app.store.message_counts()).values()) >= committed
    finally:
        await app.close()
