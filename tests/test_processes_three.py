"""Three real `wayfinder run` processes on one PostgreSQL database, one network each: Telegram
(the Bot API stand-in), the console (lines on the process's stdin) and IRC (ngIRCd on
127.0.0.1). One person, linked on Telegram and the console, alternates 500 messages between
them (two at a time: both processes handle her at once), turning invites on and off and
changing region as she goes; the Telegram process is killed with SIGKILL in the middle and
started again. Afterwards: every message handled once
(0 lost, 0 twice), and consent and region never went back to an older value."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path

import httpx
import pytest

from bot.model import ExternalId, Identity, Network, PersonId
from storage.repository import SqlStore
from tests.harness import CONTENT
from tests.ircservers import IrcServer, start_server
from tests.telegram_api import BotApi
from tests.test_processes_pg import _more, _port

USER = 2002
ROOT = Path(__file__).resolve().parent.parent
LEASE = 2.0
MESSAGES = 500
KILL_AT = 250  # a Telegram message: its process dies once it has fetched it


def _config(url: str, metrics: int, adapter: str) -> str:
    return (f'[storage]\nurl = "{url}"\n[content]\npath = "{CONTENT}"\n{adapter}'
            f'[outbox]\nlease_seconds = {LEASE}\n[flows]\nscan_interval_seconds = 0.5\n'
            '[inbound]\nflood_per_person = 0\nflood_per_room = 0\n'
            f'[metrics]\nenabled = true\nport = {metrics}\n')


class Process:
    """One `wayfinder run`; ready once its /healthz says every adapter is connected."""

    def __init__(self, folder: Path, name: str, toml: str, env: dict[str, str],
                 stdin: bool = False) -> None:
        self.folder = folder / name
        self.folder.mkdir()
        self.metrics = int(re.findall(r"port = (\d+)", toml)[-1])
        (self.folder / "wayfinder.toml").write_text(toml, encoding="utf-8")
        self.env = env
        self.piped = stdin
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        # Files, never pipes: a pipe nobody reads fills up and stops the bot.
        with (self.folder / "stdout.txt").open("ab") as out, \
                (self.folder / "stderr.txt").open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "-c", str(self.folder / "wayfinder.toml"),
                cwd=self.folder, env={**os.environ, **self.env},
                stdin=asyncio.subprocess.PIPE if self.piped else asyncio.subprocess.DEVNULL,
                stdout=out, stderr=err)

    async def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.returncode is not None:
            raise AssertionError(f"{self.folder.name} exited with {self.proc.returncode}: "
                                 f"{(self.folder / 'stderr.txt').read_text()[-2000:]}")
        try:
            async with httpx.AsyncClient() as client:
                found = await client.get(f"http://127.0.0.1:{self.metrics}/healthz")
        except httpx.HTTPError:
            return False
        return found.status_code == 200

    def say(self, line: str) -> None:
        """A line typed at the console process."""
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{line}\n".encode())

    def said(self) -> str:
        return (self.folder / "stdout.txt").read_text(errors="replace")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.terminate()
            await self.proc.wait()


async def _until(check: Callable[[], Awaitable[bool]], within: float, what: str,
                 every: float = 0.02) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"not within {within:.0f} s: {what}")


@pytest.fixture
async def ngircd() -> AsyncIterator[IrcServer]:
    server = await start_server("ngircd")
    yield server
    await server.stop()


@pytest.mark.slow(seconds=60)
async def test_three_processes_one_network_each_a_linked_person_and_a_kill_9(
        tmp_path: Path, postgres_url: str, ngircd: IrcServer) -> None:
    api = await BotApi().start()
    url = postgres_url
    telegram = Process(tmp_path, "telegram", _config(
        url, _port(), '[adapters.telegram]\nenabled = true\ntoken_env = "TG_TOKEN"\n'
        f'base_url = "{api.url}"\npoll_timeout_seconds = 1\nmessages_per_second = 500\n'
        'per_chat_per_second = 500\n'), {"TG_TOKEN": api.token})
    console = Process(tmp_path, "console", _config(
        url, _port(), '[adapters.console]\nenabled = true\nname = "ada"\n'), {}, stdin=True)
    irc = Process(tmp_path, "irc", _config(
        url, _port(), f'[adapters.irc]\nenabled = true\nhost = "127.0.0.1"\n'
        f'port = {ngircd.port}\ntls = false\nnick = "wfbot"\nchannels = ["#lumen"]\n'), {})
    processes = [telegram, console, irc]
    store = SqlStore.open(url)
    try:
        # Started together: one migrates the schema under its lock, the others wait for it.
        for process in processes:
            await process.start()
        for process in processes:
            await _until(process.ready, 60, f"the {process.folder.name} process ready",
                         every=0.1)
        await store.start(migrate=False)

        # Ada links her console and Telegram accounts.
        console.say("!link")

        async def code_given() -> bool:
            return "Your link code is" in console.said()

        await _until(code_given, 20, "a link code on the console")
        found = re.search(r"Your link code is (\S+)\.", console.said())
        assert found is not None
        api.user_says(f"/link {found.group(1)}", user_id=USER)
        on_telegram = Identity(Network("telegram"), ExternalId(str(USER)), True)
        on_console = Identity(Network("console"), ExternalId("ada"), True)

        async def linked() -> bool:
            return (await store.person_for(on_telegram) == await store.person_for(on_console))

        await _until(linked, 20, "the two accounts linked", every=0.05)
        person = await store.person_for(on_console)

        async def counted() -> int:
            state = await store.load_state(person)
            return int(state.data.get("messages", 0)) if state is not None else 0

        base = await counted()
        changes = await _alternate(api, telegram, console, store, person, base)
        final = await store.load_state(person)
        assert final is not None
        # 0 lost, 0 handled twice: every message counted once, on either network.
        assert final.data["messages"] == base + MESSAGES
        assert changes >= 20
        # Every reply reached her once the lease of what the killed process held ran out.
        await asyncio.sleep(LEASE + 1)
        done = "Done: no more event invites."
        on_telegram_said = sum(done in s.text for s in api.to_chat(USER))
        assert on_telegram_said + console.said().count(done) == sum(
            1 for n in range(MESSAGES) if _line(n) == "invites off")
        assert on_telegram_said == sum(1 for n in range(0, MESSAGES, 2)
                                       if _line(n) == "invites off")
    finally:
        await store.close()
        for process in processes:
            await process.stop()
        await api.stop()


def _line(n: int) -> str:
    """What message `n` says (the network's command prefix aside)."""
    if n % 50 == 7:
        return "invites on"
    if n % 50 == 31:
        return "invites off"
    if n % 25 == 12:
        return f"region {('de', 'pl', 'ng')[n // 25 % 3]}"
    return "hello"


async def _alternate(api: BotApi, telegram: Process, console: Process, store: SqlStore,
                     person: PersonId, base: int) -> int:
    """The 500 messages in pairs: an even one on Telegram and the next on the console, sent
    together (the two processes handle her at the same time, so their writes race), then
    waited for; after each pair, consent and region must be what her last change made them
    (a pair holds at most one change). Returns how many changes she made."""
    invites, region, changes = False, "", 0
    for n in range(0, MESSAGES, 2):
        first, second = _line(n), _line(n + 1)
        calls = len(api.calls)
        api.user_says(f"/{first}" if first != "hello" else first, user_id=USER)
        if n == KILL_AT:  # the update is fetched, maybe handled: the process dies
            await api.wait_until(partial(_more, api.calls, calls + 1), 10)
            await telegram.kill()
            await telegram.start()
        console.say(f"!{second}" if second != "hello" else second)
        for line in (first, second):
            if line.startswith("invites"):
                invites, changes = line.endswith("on"), changes + 1
            elif line.startswith("region"):
                region, changes = line.split()[1], changes + 1

        async def handled(count: int = base + n + 2) -> bool:
            state = await store.load_state(person)
            return state is not None and state.data.get("messages") == count

        await _until(handled, 30, f"messages {n} and {n + 1} ({first}, {second}) handled once")
        state = await store.load_state(person)
        assert state is not None
        events = state.data.get("events", {})
        assert (bool(events.get("invites")), events.get("region", "")) == (invites, region), (
            f"after messages {n} and {n + 1} ({first}, {second})")
    return changes
