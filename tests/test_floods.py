"""Floods: one person (or one channel) sending far faster than anyone types gets one polite
warning; the rest is dropped and counted, and everyone else is answered as usual."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.floodgate import Floodgate, Verdict
from tests.harness import FakeClock, Harness, make_config

LIMITS = {"flood_per_person": 12, "flood_per_room": 30, "flood_seconds": 10}


def test_a_gate_admits_the_limit_warns_once_and_drops_the_rest() -> None:
    gate = Floodgate(3, 10, "person")
    assert [gate.admit("ana", 0.0) for _ in range(6)] == [
        Verdict.ADMIT, Verdict.ADMIT, Verdict.ADMIT, Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert gate.admit("bo", 1.0) is Verdict.ADMIT  # others are not held to ana's count
    assert gate.dropped == 2
    # The flood goes on into the next window: no second warning.
    assert [gate.admit("ana", 10.5) for _ in range(5)] == [
        Verdict.ADMIT, Verdict.ADMIT, Verdict.ADMIT, Verdict.DROP, Verdict.DROP]
    # Quiet for a while: a new flood is warned about again.
    assert [gate.admit("ana", 60.0) for _ in range(4)][-1] is Verdict.WARN
    assert Floodgate(0, 10, "person").admit("ana", 0.0) is Verdict.ADMIT  # 0: no limit


def test_a_gate_forgets_windows_that_ended_so_memory_stays_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.floodgate.MAX_KEYS", 100)
    gate = Floodgate(5, 10, "person")
    for n in range(1000):
        gate.admit(f"p{n}", float(n))  # one new sender a second
    assert len(gate.windows) <= 100
    assert "p999" in gate.windows
    for n in range(1000):
        gate.admit(f"q{n}", 2000.0)  # a thousand at once: the oldest half goes each time
    assert len(gate.windows) <= 100


async def test_a_thousand_commands_from_one_person_get_one_warning(sqlite_url: str) -> None:
    """Regression: one person sending 1,000 commands in 10 seconds had every one run."""
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    async with Harness(make_config(sqlite_url, inbound=LIMITS), clock=clock) as bot:
        adapter = bot.adapters["memory"]
        before = len(adapter.sent)
        for _ in range(1000):
            await adapter.deliver(adapter.inbound("flood", "!status"))
        await bot.running.dispatcher.drain(10)
        to_flooder = [s.text for s in adapter.sent[before:]]
        assert len(to_flooder) == 13  # twelve answers, then the warning, then nothing
        assert to_flooder[-1].startswith("You're sending messages faster than I can follow")
        assert bot.running.engine.person_gate.dropped == 1000 - 13
        # Meanwhile someone else is answered as usual.
        assert "Hi, I'm Wayfinder" in await bot.say("calm", "!start")
        clock.advance(seconds=30)  # after a pause the flooder is answered again
        assert await bot.say("flood", "!status") == to_flooder[0]


async def test_commands_flooding_a_channel_get_one_warning_there(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    async with Harness(make_config(sqlite_url, inbound=LIMITS), clock=clock) as bot:
        adapter = bot.adapters["memory"]
        for n in range(100):  # 100 people, each well under their own limit
            await adapter.deliver(adapter.inbound(f"p{n}", "!events", room="#general",
                                                  direct=False))
        await bot.running.dispatcher.drain(10)
        in_room = [s.text for s in adapter.sent if getattr(s.msg.to, "id", None) == "#general"]
        warnings = [t for t in in_room if t.startswith("Too many commands here at once")]
        assert len(warnings) == 1
        assert bot.running.engine.room_gate.dropped == 100 - 31
        assert "Hi, I'm Wayfinder" in await bot.say("elsewhere", "!start")  # a DM: unaffected


async def test_a_script_piped_into_the_console_is_never_taken_for_a_flood(
        tmp_path: Path) -> None:
    """The terminal's one person is the operator: `wayfinder chat < script` is answered
    line by line, however fast the lines come."""
    lines = "".join("!status\n" for _ in range(40))
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "chat", "--as", "op"], cwd=tmp_path,
        input=lines, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "faster than I can follow" not in done.stdout
    assert done.stdout.count("!start") >= 40  # every !status answered (it points to !start)
