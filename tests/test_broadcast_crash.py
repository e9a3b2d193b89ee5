"""kill -9 the bot ten times during a 2,000-recipient broadcast: nobody missed, nobody twice
where the network deduplicates, and every possible duplicate elsewhere named in the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter
from bot.model import Network
from services.broadcast import delivery_of
from tests.crash_child import NETWORKS
from tests.harness import FakeClock, Harness, make_config

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = 2000
KILLS = 10


class FakeNetworks:
    """The networks' side: records every message; Matrix drops a repeated transaction id."""

    def __init__(self) -> None:
        self.received: dict[str, Counter[str]] = defaultdict(Counter)
        self.accepted: dict[str, set[str]] = defaultdict(set)
        self.changed = asyncio.Event()

    def count(self) -> int:
        return sum(len(keys) for keys in self.accepted.values())

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                item = json.loads(line)
                network, key = item["network"], item["key"]
                self.received[network][key] += 1
                self.accepted[network].add(key)
                self.changed.set()
                writer.write(b"ok\n")
                await writer.drain()
        writer.close()


async def seed(url: str) -> dict[str, str]:
    """2,000 consenting people in Germany over three networks; an invite scheduled."""
    adapters = [MemoryAdapter(Network(n)) for n in NETWORKS]
    config = make_config(url, roles={"organizers": ["telegram:org"]})
    clock = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    expected: dict[str, str] = {}
    async with Harness(config, clock=clock, adapters=adapters) as h:
        for n in range(PEOPLE):
            adapter = adapters[n % 3]
            await adapter.deliver(adapter.inbound(f"p{n}", "!region de"))
            await adapter.deliver(adapter.inbound(f"p{n}", "!invites on"))
            expected[f"p{n}"] = adapter.network
        await h.say("org", "!event new crashfest | Crash fest | 2030-06-01 18:00 | "
                    "Europe/Berlin | x | de | everyone", "telegram")
        # Scheduled on the harness's clock, so this process sends nothing: the child's real
        # clock finds it due at once and fans it out itself.
        await h.say("org", "!broadcast crashfest at 2026-11-02 10:30", "telegram")
        assert "scheduled for" in await h.say("org", "!broadcast confirm", "telegram")
    return expected


async def start_child(url: str, port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_child", url, str(port), cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)


async def wait_for_more(networks: FakeNetworks, than: int, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            while networks.count() <= than:
                networks.changed.clear()
                await networks.changed.wait()
    except TimeoutError:
        return False
    return True


@pytest.mark.slow(seconds=50)
async def test_kill_nine_during_a_broadcast_misses_nobody(sqlite_url: str) -> None:
    expected = await seed(sqlite_url)
    networks = FakeNetworks()
    server = await asyncio.start_server(networks.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rng = random.Random(9)
    try:
        for _ in range(KILLS):
            before = networks.count()
            child = await start_child(sqlite_url, port)
            # Random points: during the fan-out, early in delivery, or well into it.
            await wait_for_more(networks, before, 30)
            await wait_for_more(networks, networks.count() + rng.randint(0, 120), 30)
            child.send_signal(signal.SIGKILL)
            await child.wait()
        child = await start_child(sqlite_url, port)
        try:
            async with asyncio.timeout(120):
                while networks.count() < PEOPLE:
                    networks.changed.clear()
                    await networks.changed.wait()
        finally:
            child.send_signal(signal.SIGTERM)
            await child.wait()
    finally:
        server.close()
        await server.wait_closed()

    config = make_config(sqlite_url)
    counts = await delivery_of(config, 1)
    summary = {}
    for network, idempotent in NETWORKS.items():
        got = networks.received[network]
        assert len(got) == sum(1 for n in expected.values() if n == network), network
        assert all(key.startswith("invite:crashfest:") for key in got)
        repeats = sum(c - 1 for c in got.values())
        # Matrix keeps one message per transaction id: repeats never reach a person there.
        duplicates = 0 if idempotent else repeats
        assert duplicates <= counts.resent.get(network, 0), (network, duplicates, counts)
        summary[network] = (repeats, counts.resent.get(network, 0))
    print(f"repeats and reported resends per network: {summary}")
    assert networks.count() == PEOPLE  # 0 missing
    assert counts.count("sent") == PEOPLE
    assert counts.count("dead") == counts.count("unknown") == 0
