"""Several real `wayfinder run` processes on one PostgreSQL database, each polling its own
Telegram Bot API stand-in: the same Telegram user reaches the bot through either process, as
one person. Killed with SIGKILL mid-conversation and at the moment a nudge is due."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Sized
from functools import partial
from pathlib import Path

import httpx
import pytest

from bot.model import ExternalId, Identity, Network
from bot.ports import PersonState
from services.broadcast import delivery_of
from storage.repository import SqlStore
from tests.crash_child import NETWORKS
from tests.harness import make_config
from tests.telegram_api import BotApi
from tests.test_broadcast_crash import PEOPLE, FakeNetworks, seed, wait_for_more

USER = 1001
ROOT = Path(__file__).resolve().parent.parent
LEASE = 2.0


@pytest.fixture
async def apis() -> AsyncIterator[list[BotApi]]:
    servers = [await BotApi().start() for _ in range(2)]
    for n, server in enumerate(servers):
        # Update ids are Telegram's event ids: two bots' streams must not collide.
        server._update_ids = itertools.count(1 + n * 1_000_000)
    yield servers
    for server in servers:
        await server.stop()


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bot:
    """One `wayfinder run` process: Telegram through `api`, metrics on its own port."""

    def __init__(self, folder: Path, url: str, api: BotApi, name: str, **flows: str) -> None:
        self.folder = folder / name
        self.folder.mkdir()
        self.api = api
        self.metrics = _port()
        extra = "".join(f'{k} = "{v}"\n' for k, v in flows.items())
        (self.folder / "wayfinder.toml").write_text(
            f'[storage]\nurl = "{url}"\n'
            '[adapters.telegram]\nenabled = true\ntoken_env = "TG_TOKEN"\n'
            f'base_url = "{api.url}"\npoll_timeout_seconds = 1\n'
            'messages_per_second = 200\nper_chat_per_second = 100\n'
            f'[outbox]\nlease_seconds = {LEASE}\n'
            '[flows]\nscan_interval_seconds = 0.5\n'
            '[inbound]\nflood_per_person = 0\nflood_per_room = 0\n'
            f'[metrics]\nenabled = true\nport = {self.metrics}\n'
            f'[mentoring]\n{extra}')
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        calls = len(self.api.calls)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "-c", str(self.folder / "wayfinder.toml"),
            cwd=ROOT,
            env={**os.environ, "TG_TOKEN": self.api.token}, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:  # ready once it asks for updates
            await self.api.wait_until(lambda: any(c[0] == "getupdates"
                                                  for c in self.api.calls[calls:]), 30)
        except TimeoutError:
            await self.kill()
            raise AssertionError("the bot did not start polling") from None

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    async def leads(self) -> bool:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{self.metrics}/metrics")).text
        return "wayfinder_leader 1.0" in text


def _more(items: Sized, than: int) -> bool:
    return len(items) > than


async def _state(url: str) -> PersonState | None:
    async with SqlStore.open(url) as store:
        person = await store.person_for(Identity(Network("telegram"), ExternalId(str(USER)),
                                                 True))
        return await store.load_state(person)


async def _until(check: object, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {within:.0f} s: {what}")


async def test_one_person_alternating_between_two_processes_with_a_kill_9(
        tmp_path: Path, postgres_url: str, apis: list[BotApi]) -> None:
    bots = [Bot(tmp_path, postgres_url, api, f"bot{n}") for n, api in enumerate(apis)]
    for bot in bots:
        await bot.start()
    lines = ["hello"] * 30
    lines[2], lines[17], lines[29] = "/invites on", "/invites off", "/invites"
    consent: list[bool] = []
    store = SqlStore.open(postgres_url)
    await store.start(migrate=False)
    person = await store.person_for(Identity(Network("telegram"), ExternalId(str(USER)), True))
    try:
        for n, line in enumerate(lines):
            bot = bots[n % 2]
            calls = len(bot.api.calls)
            bot.api.user_says(line, user_id=USER)
            if n == 15:  # the update is fetched, maybe handled: the process is killed
                await bot.api.wait_until(partial(_more, bot.api.calls, calls + 1), 10)
                await bot.kill()
                await bot.start()

            async def handled(count: int = n + 1) -> bool:
                state = await store.load_state(person)
                return state is not None and state.data.get("messages") == count

            await _until(handled, 30, f"message {n} ({line}) handled")
            state = await store.load_state(person)
            assert state is not None
            consent.append(bool(state.data.get("events", {}).get("invites")))
        # Every reply reached her once the lease of what the killed process held ran out.
        await asyncio.sleep(LEASE + 1)
        said = [s.text for api in apis for s in api.to_chat(USER)]
        assert sum("Event invites are off" in t for t in said) == 1
    finally:
        await store.close()
        for bot in bots:
            await bot.stop()
    final = await _state(postgres_url)
    assert final is not None
    assert final.data["messages"] == len(lines)  # 0 lost, 0 handled twice
    # Consent was given at message 2 and withdrawn at 17: never back on after that.
    assert consent[2:17] == [True] * 15
    assert consent[17:] == [False] * 13
    assert consent[:2] == [False, False]


async def test_a_nudge_due_as_the_leader_dies_is_sent_once(
        tmp_path: Path, postgres_url: str, apis: list[BotApi]) -> None:
    bots = [Bot(tmp_path, postgres_url, api, f"bot{n}", stuck_after="6s")
            for n, api in enumerate(apis)]
    for bot in bots:
        await bot.start()
    try:
        async def someone_leads() -> bool:
            return any([await b.leads() for b in bots])

        await _until(someone_leads, 10, "a leader")
        leader = bots[0] if await bots[0].leads() else bots[1]
        other = bots[1 - bots.index(leader)]
        assert not await other.leads()
        for line in ["/start", "/skip", "/skip", "/skip", "Pagebot"]:
            calls = len(other.api.sent)
            other.api.user_says(line, user_id=USER)
            await other.api.wait_until(partial(_more, other.api.sent, calls), 10)
        # She is at a step now: the nudge is due in 6 s. The leader dies just as it is.
        await asyncio.sleep(5.8)
        await leader.kill()
        await _until(other.leads, 10, "the other process leads")

        def nudges() -> int:
            return sum("for a while. Stuck?" in s.text for api in apis
                       for s in api.to_chat(USER))

        async def nudged() -> bool:
            return nudges() >= 1

        await _until(nudged, 15, "the nudge sent")
        await asyncio.sleep(LEASE + 2)  # anything the dead leader held is sent by now too
        assert nudges() == 1
    finally:
        for bot in bots:
            await bot.stop()


async def _crash_child(url: str, port: int, metrics: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_child", url, str(port), str(metrics), cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)


async def _leads(metrics: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{metrics}/metrics")).text
    except httpx.HTTPError:
        return False
    return "wayfinder_leader 1.0" in text


@pytest.mark.slow(seconds=80)
async def test_a_broadcast_to_2000_with_the_leader_killed_twice(postgres_url: str) -> None:
    expected = await seed(postgres_url)
    networks = FakeNetworks()
    server = await asyncio.start_server(networks.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ports = [_port(), _port()]
    children = [await _crash_child(postgres_url, port, m) for m in ports]
    try:
        for kill in range(2):
            await _until(partial(_any_leads, ports), 20, "a leader")
            leader = 0 if await _leads(ports[0]) else 1
            # Into the fan-out and delivery: the leader dies, the other takes over.
            await wait_for_more(networks, networks.count() + 200 + 300 * kill, 60)
            children[leader].send_signal(signal.SIGKILL)
            await children[leader].wait()
            children[leader] = await _crash_child(postgres_url, port, ports[leader])
        async with asyncio.timeout(120):
            while networks.count() < PEOPLE:
                networks.changed.clear()
                await networks.changed.wait()
        await asyncio.sleep(3)  # anything sent twice has arrived too
    finally:
        for child in children:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
                await child.wait()
        server.close()
        await server.wait_closed()
    counts = await delivery_of(make_config(postgres_url), 1)
    for network, idempotent in NETWORKS.items():
        got = networks.received[network]
        assert len(got) == sum(1 for n in expected.values() if n == network), network
        repeats = sum(c - 1 for c in got.values())
        # Where the network keeps one message per key, nobody gets it twice; elsewhere at
        # most what was in flight when a process died, each counted as a possible resend.
        assert (0 if idempotent else repeats) <= counts.resent.get(network, 0), (
            network, repeats, counts)
    assert networks.count() == PEOPLE  # 0 missing
    assert counts.count("sent") == PEOPLE
    assert counts.count("dead") == counts.count("unknown") == 0


async def _any_leads(ports: list[int]) -> bool:
    return any([await _leads(p) for p in ports])
