"""Due work is isolated: a poisoned item is counted, dies after N ticks, and never blocks the
rest of its tick; `wayfinder outbox` lists it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from bot.config import Config
from bot.flow import Due, Turn
from bot.model import PersonId
from bot.ports import Reads, UnitOfWork
from flows.events.records import Audience, Broadcast, Compose, ScheduleBroadcast
from tests.harness import Harness, make_config


def wayfinder(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})


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


async def test_a_due_item_that_recovers_forgets_its_failures(sqlite_url: str) -> None:
    failures_left = 2

    async def flaky(turn: Turn) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise RuntimeError("not yet")
        turn.event("recovered")

    async with Harness(make_config(sqlite_url)) as h:
        await h.say("dee", "hello")
        dee = await h.running.store.person_for(h.adapters["memory"].identity("dee"))

        async def source(reads: Reads, now: datetime, config: Config) -> list[Due]:
            return [Due(dee, "flaky:dee", flaky)]

        h.running.engine.due_sources = [source]
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
        broadcaster = h.running.broadcaster
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
