"""Due work is isolated: a poisoned item is counted, dies after N ticks, and never blocks the
rest of its tick; `wayfinder outbox` lists it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Config
from bot.flow import Due, Handler, Turn
from bot.model import PersonId
from bot.ports import CommitResult, DueFailure, Reads, UnitOfWork
from flows.events.records import Audience, Broadcast, Compose, ScheduleBroadcast
from flows.events.service import BroadcastService
from storage import duework
from storage.repository import SqlStore
from tests.harness import FakeClock, Harness, make_config


def wayfinder(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})


async def only_due(h: Harness, name: str, key: str, handler: Handler) -> None:
    """`name` says hello (so the bot knows them), then the engine's one due source offers a
    single item for them: `key`, run by `handler`."""
    await h.say(name, "hello")
    person = await h.running.store.person_for(h.adapters["memory"].identity(name))

    async def source(reads: Reads, now: datetime, config: Config) -> list[Due]:
        return [Due(person, key, handler)]

    h.running.engine.due_sources = [source]


def said_to(h: Harness, who: str) -> list[str]:
    return [s.text for s in h.adapters["memory"].sent
            if getattr(s.msg.to, "external_id", None) == who
            or getattr(s.msg.to, "id", None) == f"dm:{who}"]


async def test_a_poisoned_due_item_dies_after_n_ticks_and_never_blocks_the_others(
        sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(sqlite_url, flows={"due_max_attempts": 3})
    names = ["ann", "bo", "cy"]
    tick = 0
    poisoned_runs = 0

    async def remind(turn: Turn) -> None:
        turn.say(f"reminder {tick}")

    async def poisoned(turn: Turn) -> None:
        nonlocal poisoned_runs
        poisoned_runs += 1
        raise RuntimeError("the task this refers to is gone")

    async def broken_source(reads: Reads, now: datetime, config: Config) -> list[Due]:
        raise RuntimeError("this whole scan is broken")

    async with Harness(config) as h:
        for name in names:  # known, with a room to be reminded in
            await h.say(name, "hello")
        store = h.running.store
        ann, bo, cy = [await store.person_for(h.adapters["memory"].identity(n)) for n in names]

        async def source(reads: Reads, now: datetime, config: Config) -> list[Due]:
            # the poisoned item comes first: the ones after it still run in the same tick
            return [Due(bo, "poison:bo", poisoned), Due(ann, f"remind:{ann}:{tick}", remind),
                    Due(cy, f"remind:{cy}:{tick}", remind)]

        h.running.engine.due_sources = [broken_source, source]
        for tick in range(1, 6):
            assert await h.tick() == 2
            for who in ("ann", "cy"):
                assert said_to(h, who)[-1] == f"reminder {tick}"
        assert poisoned_runs == 3  # dead after the third tick: never run again
        assert said_to(h, "bo") == [said_to(h, "bo")[0]]  # only the answer to "hello"
        failure = (await store.due_failures())["poison:bo"]
        assert failure.dead
        assert failure.attempts == 3
        assert failure.last_error == "RuntimeError: the task this refers to is gone"
        assert "due work poison:bo failed (attempt 1 of 3)" in caplog.text
        assert "due work poison:bo failed 3 times; it is a dead letter" in caplog.text
        assert "due source" in caplog.text  # the broken source was logged, and skipped
        # the poisoned person is not locked out: their own messages are still answered
        assert await h.say("bo", "!help")
    result = wayfinder(tmp_path, "outbox")
    assert result.returncode == 0, result.stderr
    assert "due work dead letters: 1" in result.stdout
    assert "poison:bo" in result.stdout
    assert "the task this refers to is gone" in result.stdout


async def test_due_work_raising_an_oserror_is_counted_and_dead_lettered_not_taken_for_the_store(
        sqlite_url: str) -> None:
    """Any OSError counted as the store's: a handler raising one was never counted, so it ran
    (and failed) on every tick forever instead of becoming a dead letter after N."""
    config = make_config(sqlite_url, flows={"due_max_attempts": 2})
    runs = 0

    async def missing_file(turn: Turn) -> None:
        nonlocal runs
        runs += 1
        raise FileNotFoundError(2, "No such file or directory", "/gone/handout.pdf")

    async with Harness(config) as h:
        store = h.running.store
        await only_due(h, "ann", "handout:ann", missing_file)
        for _ in range(4):
            await h.tick()
        assert runs == 2
        failure = (await store.due_failures())["handout:ann"]
        assert failure.dead
        assert failure.attempts == 2
        assert "FileNotFoundError" in failure.last_error


async def test_a_due_item_that_recovers_forgets_its_failures(sqlite_url: str) -> None:
    failures_left = 2

    async def flaky(turn: Turn) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise RuntimeError("not yet")
        turn.event("recovered")

    async with Harness(make_config(sqlite_url)) as h:
        await only_due(h, "dee", "flaky:dee", flaky)
        assert [await h.tick() for _ in range(3)] == [0, 0, 1]
        assert await h.running.store.due_failures() == {}
        assert await h.tick() == 0  # done: a replay of its key is a no-op


async def test_a_broadcast_that_keeps_failing_dies_and_the_others_go_out(
        sqlite_url: str, tmp_path: Path) -> None:
    config = make_config(sqlite_url, flows={"due_max_attempts": 2},
                         events={"quiet_hours": "", "reminders": []})
    async with Harness(config) as h:
        await h.say("eve", "!region de")
        await h.say("eve", "!invites on")
        store = h.running.store
        now = h.clock()
        await store.commit(UnitOfWork(PersonId(0), records=[
            ScheduleBroadcast(event, "invite", now, "test", now)
            for event in ("berlin-hack-evening", "lumen-online-sprint")]))
        service = h.running.services["events"]
        assert isinstance(service, BroadcastService)
        broadcaster = service.broadcaster
        plan = broadcaster.plan

        async def poisoned_plan(broadcast: Broadcast,
                                at: datetime) -> tuple[Audience, Compose] | None:
            if broadcast.event_id == "berlin-hack-evening":
                raise KeyError("venue")
            return await plan(broadcast, at)

        broadcaster.plan = poisoned_plan
        await h.tick()
        invites = [t for t in said_to(h, "eve") if t.startswith("You're invited")]
        assert len(invites) == 1
        assert "Lumen online sprint" in invites[0]
        await h.tick()
        await h.tick()
        [berlin] = await store.broadcasts_of("berlin-hack-evening")
        assert berlin.status == "failed"
        failure = (await store.due_failures())[f"broadcast:{berlin.id}"]
        assert failure.dead
        assert failure.attempts == 2
        assert failure.last_error == "KeyError: 'venue'"
    result = wayfinder(tmp_path, "outbox")
    assert f"broadcast:{berlin.id}" in result.stdout


def locked() -> OperationalError:
    return OperationalError("UPDATE ...", {}, sqlite3.OperationalError("database is locked"))


async def test_a_store_outage_longer_than_max_attempts_dead_letters_no_due_work(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The store locked for more ticks than due_max_attempts used to count every item's
    failure, and afterwards healthy reminders were dead letters skipped forever."""
    poisoned_runs = 0

    async def remind(turn: Turn) -> None:
        turn.say("reminder")

    async def poisoned(turn: Turn) -> None:
        nonlocal poisoned_runs
        poisoned_runs += 1
        raise RuntimeError("the task this refers to is gone")

    async with Harness(make_config(sqlite_url, flows={"due_max_attempts": 2})) as h:
        for name in ("ann", "bo"):
            await h.say(name, "hello")
        store = h.running.store
        ann, bo = [await store.person_for(h.adapters["memory"].identity(n))
                   for n in ("ann", "bo")]

        async def source(reads: Reads, now: datetime, config: Config) -> list[Due]:
            return [Due(ann, "remind:ann", remind), Due(bo, "poison:bo", poisoned)]

        h.running.engine.due_sources = [source]
        commit, failures = store.commit, store.due_failures
        asked: list[list[str]] = []

        async def locked_commit(unit: UnitOfWork) -> CommitResult:
            raise locked()

        async def locked_reads(keys: Collection[str] | None = None,
                               dead_only: bool = False) -> dict[str, DueFailure]:
            raise locked()

        for tick in range(5):  # more than due_max_attempts: commits, then reads, are locked
            store.commit = locked_commit  # type: ignore[method-assign]
            if tick % 2:
                store.due_failures = locked_reads  # type: ignore[method-assign]
            assert await h.tick() == 0
            store.commit, store.due_failures = commit, failures  # type: ignore[method-assign]
        assert "the store failed (database is locked); not counted" in caplog.text
        assert await store.due_failures() == {}  # nobody's fault: nothing counted
        assert poisoned_runs == 0  # the tick ended at the store's failure

        async def spied(keys: Collection[str] | None = None,
                        dead_only: bool = False) -> dict[str, DueFailure]:
            assert keys is not None  # each tick reads its own items, never the whole table
            asked.append(sorted(keys))
            return await failures(keys, dead_only)

        store.due_failures = spied  # type: ignore[method-assign]
        assert await h.tick() == 1  # the store is back: the reminder goes out
        assert said_to(h, "ann")[-1] == "reminder"
        await h.tick()
        await h.tick()
        assert poisoned_runs == 2  # a poisoned item still dies after N
        dead = await failures(dead_only=True)
        assert list(dead) == ["poison:bo"]
        assert asked == [["poison:bo", "remind:ann"]] * 3


async def test_a_store_outage_longer_than_max_attempts_does_not_fail_a_broadcast(
        sqlite_url: str) -> None:
    config = make_config(sqlite_url, flows={"due_max_attempts": 2},
                         events={"quiet_hours": "", "reminders": []})
    async with Harness(config) as h:
        await h.say("eve", "!region de")
        await h.say("eve", "!invites on")
        store = h.running.store
        now = h.clock()
        await store.commit(UnitOfWork(PersonId(0), records=[
            ScheduleBroadcast("lumen-online-sprint", "invite", now, "test", now)]))
        fan_out = store.fan_out

        async def locked_fan_out(*args: object) -> int:
            raise locked()

        store.fan_out = locked_fan_out  # type: ignore[method-assign,assignment]
        for _ in range(4):
            await h.tick()
        [sprint] = await store.broadcasts_of("lumen-online-sprint")
        assert sprint.status != "failed"
        assert await store.due_failures() == {}
        store.fan_out = fan_out  # type: ignore[method-assign]
        await h.tick()
        invites = [t for t in said_to(h, "eve") if t.startswith("You're invited")]
        assert len(invites) == 1
        assert "Lumen online sprint" in invites[0]
        [sprint] = await store.broadcasts_of("lumen-online-sprint")
        assert sprint.status != "failed"
        assert await store.due_failures() == {}


async def test_due_failures_count_up_read_by_key_and_are_pruned(db_url: str) -> None:
    """Counted by one upsert (two stores at once both count); read by key, not the whole
    table; pruned once past their retention, dead letters included."""
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    async with SqlStore.open(db_url, durable=False) as one, \
            SqlStore.open(db_url, durable=False) as two:
        counted = await asyncio.gather(*[store.due_failed("race", f"boom {n}", at, 8)
                                         for n in range(4) for store in (one, two)])
        assert sorted(f.attempts for f in counted) == list(range(1, 9))
        assert [f.dead for f in sorted(counted, key=lambda f: f.attempts)] == [False] * 7 + [True]
        race = (await one.due_failures(["race"]))["race"]
        assert race.attempts == 8
        assert race.dead
        # a dead letter stays dead, and keeps counting
        assert (await one.due_failed("race", "again", at, 8)).attempts == 9
        assert (await one.due_failures(["race"]))["race"].dead
        assert (await one.due_failed("once", "x", at, 1)).dead  # N = 1: dead at once
        await one.due_failed("old", "long ago", at - timedelta(days=40), 1)
        await one.due_failed("alive", "not yet", at - timedelta(days=40), 5)
        await one.due_failed("fresh", "not yet", at, 5)
        # read by key: only those asked for (many keys: in chunks), or only dead letters
        many = [f"k{n}" for n in range(1200)] + ["fresh", "alive"]
        assert sorted(await one.due_failures(many)) == ["alive", "fresh"]
        assert await one.due_failures([]) == {}
        assert sorted(await one.due_failures(dead_only=True)) == ["old", "once", "race"]
        # prune: what was last counted before the cutoff goes, dead or not
        assert await one.due_prune(at - timedelta(days=30)) == 2
        assert sorted(await one.due_failures()) == ["fresh", "once", "race"]


async def test_dead_letters_are_forgotten_after_their_retention(sqlite_url: str,
                                                                 clock: FakeClock) -> None:
    """Dead letters were never pruned: the table only grew, and every tick read all of it."""
    config = make_config(sqlite_url, flows={"due_max_attempts": 1, "due_dead_letter_days": 2})

    async def poisoned(turn: Turn) -> None:
        raise RuntimeError("gone")

    async with Harness(config, clock=clock) as h:
        store = h.running.store
        await only_due(h, "flo", "poison:flo", poisoned)
        await h.tick()
        assert list(await store.due_failures(dead_only=True)) == ["poison:flo"]
        clock.advance(days=1, hours=1)
        await h.tick()
        assert list(await store.due_failures(dead_only=True)) == ["poison:flo"]
        h.running.engine.due_sources = []  # the item is no longer due
        clock.advance(days=1)
        await h.tick()
        assert await store.due_failures() == {}


async def test_two_processes_counting_one_new_due_failure_both_count_on_postgresql(
        postgres_url: str) -> None:
    """Select-then-insert: the second process saw no row, inserted too, and broke the key."""
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    async with SqlStore.open(postgres_url, durable=False) as store:
        engine = create_async_engine(postgres_url)
        try:
            async with engine.connect() as one, engine.connect() as two:
                await one.begin()
                await two.begin()
                first = await one.run_sync(
                    lambda conn: duework.record_failure(conn, "race", "one", at, 2))
                second = asyncio.create_task(two.run_sync(
                    lambda conn: duework.record_failure(conn, "race", "two", at, 2)))
                await asyncio.sleep(0.3)
                assert not second.done()  # it waits for the first's uncommitted row
                await one.commit()
                counted = await second
                await two.commit()
        finally:
            await engine.dispose()
        assert (first.attempts, first.dead) == (1, False)
        assert (counted.attempts, counted.dead) == (2, True)
        race = (await store.due_failures(["race"]))["race"]
        assert (race.attempts, race.last_error, race.dead) == (2, "two", True)
