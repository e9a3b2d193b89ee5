"""Two bots on one PostgreSQL database, in one test process: each has its own engine, caches,
writer and dispatcher, as two `wayfinder run` processes would (tests/test_processes_pg.py runs
real processes). Person state is compare-and-set: a stale cached state never wins."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from adapters.memory import MemoryAdapter
from bot import app as app_module
from bot.model import ExternalId, Identity, Network, Outbound, Receipt
from bot.ports import OutboxItem, PersonState, UnitOfWork
from storage.repository import SqlStore
from tests.harness import Harness, make_config
from tests.test_mentoring import mentoring_bot
from tests.test_roles import ROOT_ADMIN


@pytest.fixture
async def pair(postgres_url: str) -> AsyncIterator[tuple[Harness, Harness]]:
    first = Harness(make_config(postgres_url))
    await first.start()
    second = Harness(make_config(postgres_url))
    await second.start()
    try:
        yield first, second
    finally:
        await second.stop()
        await first.stop()


_events = itertools.count(1)


async def _say(bot: Harness, who: str, text: str, network: str = "memory") -> str:
    """Events unique across both bots (each memory adapter counts its own from 1)."""
    return await bot.say(who, text, network, event_id=f"ev-{next(_events)}")


async def _state(bot: Harness, who: str) -> PersonState:
    store = bot.running.store
    state = await store.load_state(await store.person_for(bot.adapters["memory"].identity(who)))
    assert state is not None
    return state


async def test_alternating_bots_lose_no_update(pair: tuple[Harness, Harness]) -> None:
    first, second = pair
    for n in range(20):
        await _say(first if n % 2 == 0 else second, "ann", "hello")
    state = await _state(first, "ann")
    assert state.data["messages"] == 20  # each bot's cached state was stale every other time
    assert state.version == 20
    conflicts = first.running.store.writer.conflicts + second.running.store.writer.conflicts
    # Caught by the version check and handled again, not overwritten; after its first
    # conflict a bot reads her state afresh each turn instead of caching it.
    assert 1 <= conflicts <= 2


async def test_consent_withdrawn_elsewhere_is_never_written_back(
        pair: tuple[Harness, Harness]) -> None:
    first, second = pair
    assert "Thanks!" in await _say(first, "ann", "!invites on")
    await _say(second, "ann", "hello")  # the second bot caches her state, with consent
    assert "no more event invites" in await _say(first, "ann", "!invites off")
    await _say(second, "ann", "hello again")  # its cached state (consent on) is stale now
    assert "Event invites are off" in await _say(second, "ann", "!invites")
    assert "Event invites are off" in await _say(first, "ann", "!invites")
    assert (await _state(first, "ann")).data["messages"] == 6


async def test_outbox_rows_are_leased_to_one_process(postgres_url: str) -> None:
    first, second = SqlStore.open(postgres_url), SqlStore.open(postgres_url)
    await first.start()
    await second.start(migrate=False)
    first.writer.lease_networks = frozenset({"memory"})  # as an App running it sets
    try:
        person = await first.person_for(Identity(Network("memory"), ExternalId("ann"), True))
        unit = UnitOfWork(person, inbox=(Network("memory"), "e1"), outbox=[
            OutboxItem(f"k{n}", Network("memory"), {"to": {"kind": "user", "id": f"u{n}"}})
            for n in range(10)] + [OutboxItem("elsewhere", Network("irc"), {"to": {}})])
        committed = await first.commit(unit)
        assert len(committed.outbox) == 11
        # A reply to a network the committing process does not run is for one that does.
        assert [r.idempotency_key for r in await second.pending_page(0, 100, ["irc"], 0)] == [
            "elsewhere"]
        # The committing process holds its replies: no other takes them, even at once.
        pages = await asyncio.gather(second.pending_page(0, 100, ["memory"], 0),
                                     second.pending_page(0, 100, ["memory"], 0))
        assert list(pages) == [[], []]
        # It dies: once its leases run out, the rows are taken by exactly one other reader.
        await first.db.write(lambda conn: conn.exec_driver_sql(
            "UPDATE outbox SET lease_until = now() - interval '1 second'"))
        third = SqlStore.open(postgres_url)
        await third.start(migrate=False)
        try:
            taken = await asyncio.gather(second.pending_page(0, 4, ["memory"], 0),
                                         third.pending_page(0, 100, ["memory"], 0),
                                         second.pending_page(0, 100, ["memory"], 0))
        finally:
            await third.close()
        ids = [row.id for page in taken for row in page]
        assert sorted(ids) == sorted(row.id for row in committed.outbox
                                     if row.network == "memory")  # each once
        assert await first.pending_page(0, 100, ["memory"], 0) == []  # leased to the others
    finally:
        await second.close()
        await first.close()


async def test_one_leader_runs_the_scans_and_another_takes_over(
        pair: tuple[Harness, Harness]) -> None:
    first, second = pair
    await first.running.tick()
    await second.running.tick()
    assert first.running.store.leader.held
    assert not second.running.store.leader.held
    await first.stop()  # its session ends, and the lock with it
    await second.running.tick()
    assert second.running.store.leader.held


async def test_a_killed_leaders_lock_is_free_at_once(postgres_url: str) -> None:
    store = SqlStore.open(postgres_url)
    await store.start()
    other = SqlStore.open(postgres_url)
    await other.start(migrate=False)
    try:
        assert await store.leader.lead()
        assert await store.leader.lead()
        assert not await other.leader.lead()
        conn = store.leader._conn
        assert conn is not None
        conn.terminate()  # as a kill -9 does: no goodbye, the server sees the socket close
        for _ in range(50):
            if await other.leader.lead():
                break
            await asyncio.sleep(0.1)
        assert other.leader.held
        assert not await store.leader.lead()  # the old leader sees it lost the lock
    finally:
        await other.close()
        await store.close()


async def test_processes_starting_together_upgrade_the_schema_once(postgres_url: str) -> None:
    stores = [SqlStore.open(postgres_url) for _ in range(3)]
    await asyncio.gather(*(s.start() for s in stores))  # one upgrades, the others wait
    for store in stores:
        await store.close()


async def test_a_mentor_removed_in_one_process_loses_the_role_in_the_other(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "ROLES_REFRESH_SECONDS", 0.1)
    first, second = mentoring_bot(postgres_url), mentoring_bot(postgres_url)
    await first.start()
    await second.start()
    try:
        assert "For mentors:" not in await _say(second, "kim", "!help", "irc")
        await _say(first, ROOT_ADMIN, "!mentor add lingo irc:kim", "matrix")
        await asyncio.sleep(0.5)
        assert "For mentors:" in await _say(second, "kim", "!help", "irc")
        await _say(first, ROOT_ADMIN, "!mentor remove lingo irc:kim", "matrix")
        await asyncio.sleep(0.5)
        assert "For mentors:" not in await _say(second, "kim", "!help", "irc")
    finally:
        await second.stop()
        await first.stop()


class _Held(MemoryAdapter):
    """Sends wait until the test lets them go (a slow network, a long rate-limit wait)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        await self.gate.wait()
        return await super().send(msg, idempotency_key)


async def test_rows_waiting_longer_than_a_lease_stay_this_processes(postgres_url: str) -> None:
    adapter = _Held()
    bot = Harness(make_config(postgres_url, outbox={"lease_seconds": 1}), adapters=[adapter])
    await bot.start()
    other = SqlStore.open(postgres_url)
    await other.start(migrate=False)
    try:
        await adapter.deliver(adapter.inbound("ann", "hello", event_id="held-1"))
        await asyncio.sleep(2.5)  # two and a half leases: renewed while it waits to send
        assert await other.pending_page(0, 100, ["memory"], 0) == []
        adapter.gate.set()
        assert await bot.running.dispatcher.drain(10)
        assert len(adapter.sent) == 1
    finally:
        await other.close()
        await bot.stop()
