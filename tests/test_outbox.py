"""The dispatcher: retries, dead letters, rate limits, and networks that don't stall each other."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import OperationalError

from adapters.memory import MemoryAdapter, SplittingMemoryAdapter
from bot.config import OutboxConfig
from bot.model import (
    ExternalId,
    Identity,
    Network,
    Outbound,
    Receipt,
    RoomRef,
    outbound_from_json,
    outbound_to_json,
)
from bot.outbox import Dispatcher
from bot.ports import (
    OutboxItem,
    PartSent,
    PermanentSendError,
    TransientSendError,
    UnitOfWork,
)
from storage.repository import SqlStore

FAST = OutboxConfig(first_retry_seconds=0.01, max_retry_seconds=0.05, max_attempts=4)


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    async with SqlStore.open(sqlite_url, durable=False) as opened:
        yield opened


async def _queue(store: SqlStore, network: str, texts: list[str]) -> None:
    person = await store.person_for(Identity(Network(network), ExternalId("x"), True))
    room = RoomRef(Network(network), "room")
    await store.commit(UnitOfWork(person, outbox=[
        OutboxItem(f"{network}:{t}", Network(network), outbound_to_json(Outbound(room, t)))
        for t in texts]))


async def test_transient_failures_are_retried_in_order(store: SqlStore) -> None:
    adapter = MemoryAdapter(Network("irc"))
    adapter.failures = [TransientSendError("timeout"), TransientSendError("502")]
    await _queue(store, "irc", ["one", "two"])
    dispatcher = Dispatcher(store, {adapter.network: adapter}, FAST)
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    assert [s.text for s in adapter.sent] == ["one", "two"]
    assert await store.outbox_counts() == {"sent": 2}


async def test_permanent_failures_and_exhausted_retries_become_dead_letters(
        store: SqlStore) -> None:
    adapter = MemoryAdapter(Network("irc"))
    adapter.failures = [PermanentSendError("bot was blocked"),
                        *[TransientSendError("down")] * 4]
    await _queue(store, "irc", ["blocked", "flaky", "fine"])
    dispatcher = Dispatcher(store, {adapter.network: adapter}, FAST)
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    assert [s.text for s in adapter.sent] == ["fine"]
    dead = await store.dead_letters()
    assert [d.body["text"] for d in dead] == ["blocked", "flaky"]
    assert dispatcher.dead == 2


async def test_rate_limit_is_respected(store: SqlStore) -> None:
    adapter = MemoryAdapter.with_rate("irc", per_second=20, burst=4)
    await _queue(store, "irc", [f"line {n}" for n in range(14)])
    dispatcher = Dispatcher(store, {adapter.network: adapter}, FAST)
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    stamps = [s.at for s in adapter.sent]
    assert len(stamps) == 14
    # burst of 4, then 20/s: the last of 14 lines goes no earlier than 10/20 s after the first
    assert stamps[-1] - stamps[0] >= 0.45
    for first in range(len(stamps)):
        in_window = [t for t in stamps if stamps[first] <= t < stamps[first] + 0.5]
        assert len(in_window) <= 4 + 20 * 0.5 + 1


async def test_retry_after_pauses_the_whole_connection(store: SqlStore) -> None:
    adapter = MemoryAdapter.with_rate("telegram", per_second=1000, burst=10)
    adapter.failures = [TransientSendError("429", retry_after=0.3)]
    await _queue(store, "telegram", ["a", "b"])
    dispatcher = Dispatcher(store, {adapter.network: adapter}, FAST)
    started = asyncio.get_running_loop().time()
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    assert [s.text for s in adapter.sent] == ["a", "b"]
    assert adapter.sent[0].at - started >= 0.29


async def test_rate_limit_answers_do_not_use_up_attempts(store: SqlStore) -> None:
    adapter = MemoryAdapter.with_rate("matrix", per_second=1000, burst=10)
    adapter.failures = [TransientSendError("429", retry_after=0.001)] * 10  # max_attempts 4
    await _queue(store, "matrix", ["a", "b"])
    dispatcher = Dispatcher(store, {adapter.network: adapter}, FAST)
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    assert [s.text for s in adapter.sent] == ["a", "b"]
    assert await store.outbox_counts() == {"sent": 2}
    assert dispatcher.dead == 0


async def test_one_failing_network_never_stalls_the_others(store: SqlStore) -> None:
    down = MemoryAdapter(Network("matrix"))
    down.failures = [TransientSendError("homeserver down")] * 3
    up = MemoryAdapter(Network("irc"))
    await _queue(store, "matrix", ["m1"])
    await _queue(store, "irc", [f"i{n}" for n in range(5)])
    slow = OutboxConfig(first_retry_seconds=0.5, max_retry_seconds=0.5, max_attempts=10)
    dispatcher = Dispatcher(store, {down.network: down, up.network: up}, slow)
    await dispatcher.start()
    await up.wait_for(5, within=0.4)  # delivered while matrix is still backing off
    assert down.sent == []
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    assert [s.text for s in down.sent] == ["m1"]


async def test_rows_for_a_network_without_adapter_stay_pending(store: SqlStore) -> None:
    await _queue(store, "telegram", ["later"])
    dispatcher = Dispatcher(store, {}, FAST)
    await dispatcher.start()
    assert await dispatcher.drain(1)
    await dispatcher.stop()
    assert [r.body["text"] for r in await store.pending_outbox()] == ["later"]


class PoisonedAdapter(MemoryAdapter):
    """A memory adapter with a bug: any message saying "poison" makes it raise."""

    tries: int = 0

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        if msg.text == "poison":
            self.tries += 1
            raise RuntimeError("renderer crashed")
        return await super().send(msg, idempotency_key)


@pytest.mark.parametrize("fed", [True, False], ids=["fed-from-store", "fresh-reply"])
async def test_an_unexpected_adapter_error_is_a_failed_attempt_and_never_blocks_the_lane(
        store: SqlStore, fed: bool) -> None:
    adapter = PoisonedAdapter(Network("irc"))
    paced = OutboxConfig(first_retry_seconds=0.2, max_retry_seconds=0.2, max_attempts=3)
    dispatcher = Dispatcher(store, {adapter.network: adapter}, paced)
    texts = ["one", "poison", "two", "three"]  # one room: one lane
    if fed:  # pending from before the start: the feeder reads it
        await _queue(store, "irc", texts)
        await dispatcher.start()
    else:  # committed while running: the engine hands the rows over
        await dispatcher.start()
        person = await store.person_for(Identity(Network("irc"), ExternalId("x"), True))
        room = RoomRef(Network("irc"), "room")
        result = await store.commit(UnitOfWork(person, outbox=[
            OutboxItem(f"irc:{t}", Network("irc"), outbound_to_json(Outbound(room, t)))
            for t in texts]))
        dispatcher.enqueue(result.outbox)
    # the rest of the lane went out while the poisoned row waited for its next try
    await adapter.wait_for(3, within=0.15)
    assert [s.text for s in adapter.sent] == ["one", "two", "three"]
    assert adapter.tries == 1
    assert await dispatcher.drain(5)  # it does not stay pending forever
    await dispatcher.stop()
    assert adapter.tries == 3
    dead = await store.dead_letters()
    assert [d.body["text"] for d in dead] == ["poison"]
    assert dead[0].attempts == 3
    assert dead[0].last_error == "gave up after 3 attempts: RuntimeError: renderer crashed"
    assert await store.outbox_counts() == {"sent": 3, "dead": 1}


FOUR_PARTS = "part one..part two..partthree.part four."  # 4 parts of 10 characters


@pytest.mark.parametrize("failure", [TransientSendError("502"), RuntimeError("adapter bug")],
                         ids=["transient", "unexpected"])
async def test_a_split_message_retried_after_part_two_fails_sends_only_the_rest(
        store: SqlStore, failure: Exception) -> None:
    adapter = SplittingMemoryAdapter(Network("irc"), fail_at={2: failure})
    await _queue(store, "irc", [FOUR_PARTS, "after"])
    dispatcher = Dispatcher(store, {adapter.network: adapter}, FAST)
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    texts = [s.text for s in adapter.sent]
    assert sorted(texts) == sorted(  # each part exactly once
        ["part one..", "part two..", "partthree.", "part four.", "after"])
    parts = [t for t in texts if t != "after"]
    assert parts == ["part one..", "part two..", "partthree.", "part four."]
    assert await store.outbox_counts() == {"sent": 2}


class StallsAfterTwoParts(SplittingMemoryAdapter):
    """Stops dead between part 2 and part 3 once, as a process killed mid-message would."""

    stalled: asyncio.Event | None = None

    async def send_parts(self, msg: Outbound, idempotency_key: str, done: int,
                         part_sent: PartSent) -> Receipt:
        async def then_stall(count: int) -> None:
            await part_sent(count)
            if count == 2 and self.stalled is not None and not self.stalled.is_set():
                self.stalled.set()
                await asyncio.Event().wait()

        return await super().send_parts(msg, idempotency_key, done, then_stall)


async def test_a_split_message_resent_after_a_crash_does_not_repeat_the_parts_sent(
        store: SqlStore) -> None:
    adapter = StallsAfterTwoParts(Network("irc"))
    adapter.stalled = asyncio.Event()
    await _queue(store, "irc", [FOUR_PARTS])
    before_crash = Dispatcher(store, {adapter.network: adapter}, FAST)
    await before_crash.start()
    await asyncio.wait_for(adapter.stalled.wait(), 5)
    await before_crash.stop()  # the process dies between part 2 and part 3
    assert [s.text for s in adapter.sent] == ["part one..", "part two.."]
    (row,) = await store.pending_page(0, 10, ["irc"], 10**6)
    assert row.parts_sent == 2
    after_restart = Dispatcher(store, {adapter.network: adapter}, FAST)
    await after_restart.start()
    assert await after_restart.drain(5)
    await after_restart.stop()
    assert [s.text for s in adapter.sent] == [
        "part one..", "part two..", "partthree.", "part four."]
    assert await store.outbox_counts() == {"sent": 1}


async def test_a_press_is_acknowledged_with_its_committed_turn_and_only_once(
        sqlite_url: str) -> None:
    from dataclasses import replace as with_

    from bot.model import Press
    from tests.harness import Harness, make_config

    async with Harness(make_config(sqlite_url)) as bot:
        press = Press("query-7", "41", "What are you interested in?", "automation")
        inbound = with_(bot.inbound("ada", "!start"), press=press)
        sent = await bot.send(inbound)
        assert sent[0].msg.press == press  # first, before the reply
        assert sent[0].msg.text == ""
        assert outbound_from_json(outbound_to_json(sent[0].msg)) == sent[0].msg  # after restarts
        assert sent[1].text.startswith("Hi, I'm Wayfinder!")
        assert await bot.send(inbound) == []  # redelivered: a duplicate, nothing sent again
        rows = await bot.running.store.pending_outbox()
        assert rows == []  # durable rows, all sent


async def test_a_store_failure_recording_a_sent_part_is_not_charged_to_the_adapter(
        store: SqlStore, caplog: pytest.LogCaptureFixture) -> None:
    """A failed mark_parts (the store locked) while sending was counted as the adapter's
    attempt: with one attempt allowed, the message became a dead letter half sent."""
    adapter = SplittingMemoryAdapter(Network("irc"))
    await _queue(store, "irc", [FOUR_PARTS])
    real = store.mark_parts
    failures = [OperationalError("UPDATE outbox ...", {},
                                 sqlite3.OperationalError("database is locked"))]

    async def locked_once(outbox_id: int, parts_sent: int) -> None:
        if parts_sent == 2 and failures:
            raise failures.pop()
        await real(outbox_id, parts_sent)

    store.mark_parts = locked_once  # type: ignore[method-assign]
    one_try = OutboxConfig(first_retry_seconds=0.01, max_retry_seconds=0.05, max_attempts=1)
    dispatcher = Dispatcher(store, {adapter.network: adapter}, one_try)
    await dispatcher.start()
    assert await dispatcher.drain(5)
    await dispatcher.stop()
    assert not failures
    assert [s.text for s in adapter.sent] == [
        "part one..", "part two..", "partthree.", "part four."]  # each once, in order
    assert await store.outbox_counts() == {"sent": 1}
    assert dispatcher.dead == 0
    assert "not counted as an attempt" in caplog.text
