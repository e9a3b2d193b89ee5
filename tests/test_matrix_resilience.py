"""The Matrix adapter when things go wrong, against a real Synapse on 127.0.0.1: the homeserver
goes away, rate limits bite, people send hostile text, the bot is killed mid-conversation."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from adapters.matrix.render import ALLOWED_TAGS
from bot.model import ExternalId, Identity, Network, Outbound, RoomRef, outbound_to_json
from bot.ports import OutboxItem, UnitOfWork
from tests.matrixkit import (
    BOT_PASSWORD,
    PICKLE_KEY,
    Person,
    matrix_config,
    person,
    running_bot,
)
from tests.synapse import Synapse, start_synapse

MATRIX = Network("matrix")


async def _say_when_up(someone: Person, room: str, text: str, within: float = 20) -> None:
    """Send once the homeserver takes it (the person's client gives up at once when down)."""
    async with asyncio.timeout(within):
        while True:
            try:
                await someone.say(room, text)
                return
            except (aiohttp.ClientError, OSError, TimeoutError, AssertionError):
                await asyncio.sleep(0.1)


@pytest.mark.slow(seconds=50)
async def test_homeserver_away_for_30_s_then_resumed_within_10_s(
        synapse: Synapse, sqlite_url: str, tmp_path: Path) -> None:
    bot_id = await synapse.register("wayfinder", BOT_PASSWORD)
    ana = await person(synapse, "ana", tmp_path)
    config = matrix_config(synapse, bot_id, tmp_path / "bot", sync_timeout_seconds=30.0)
    try:
        async with running_bot(config, sqlite_url) as bot:
            dm = await ana.open_direct(bot_id)
            await ana.say(dm, "!start")
            await ana.notice_containing("What are you interested in?")
            await synapse.stop()
            down_at = time.monotonic()
            await asyncio.sleep(30)
            await synapse.start()
            back_at = time.monotonic()
            await _say_when_up(ana, dm, "automation, 5")
            await ana.notice_containing("What are you good at", within=20)
            resumed_after = time.monotonic() - back_at
            attempts = [t for t in bot.adapter.sync_attempts if down_at <= t <= back_at]
    finally:
        await ana.close()
    assert resumed_after < 10, f"answered {resumed_after:.1f} s after Synapse returned"
    # One attempt per backoff step: 1, 2, 4, 8, 8 ... s, each with jitter down to half.
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    for step, gap in enumerate(gaps):
        floor = 0.5 * min(config.backoff_max_seconds, 2.0 ** step)
        assert gap >= floor - 0.05, f"attempt {step + 2} came {gap:.2f} s after the last"
    assert 4 <= len(attempts) <= 12, attempts


@pytest.mark.slow(seconds=220)
async def test_a_burst_of_50_replies_honours_429_and_keeps_order(
        sqlite_url: str, tmp_path: Path) -> None:
    synapse = await start_synapse(default_limits=True)  # 10 messages, then one per 5 s
    try:
        bot_id = await synapse.register("wayfinder", BOT_PASSWORD)
        ana = await person(synapse, "ana", tmp_path)
        config = matrix_config(synapse, bot_id, tmp_path / "bot", encrypt_direct_rooms=False)
        try:
            async with running_bot(config, sqlite_url) as bot:
                dm = await ana.open_direct(bot_id)
                await ana.say(dm, "!help")
                await ana.notice()
                room = RoomRef(MATRIX, dm, direct=True)
                person_id = await bot.app.store.person_for(
                    Identity(MATRIX, ExternalId(ana.mxid), True))
                # Committed and handed over as the engine does with a handled message's
                # replies: 50 in one go is more than the default limits let through.
                burst = await bot.app.store.commit(UnitOfWork(person_id, outbox=[
                    OutboxItem(f"burst-{n}", MATRIX,
                               outbound_to_json(Outbound(room, f"burst {n}")))
                    for n in range(1, 51)]))
                bot.app.dispatcher.enqueue(burst.outbox)
                got = [(await ana.notice(within=30))[1].body for _ in range(50)]
                assert got == [f"burst {n}" for n in range(1, 51)]
                assert bot.adapter.rate_limited > 0  # the limits did bite
                assert bot.app.dispatcher.dead == 0
        finally:
            await ana.close()
    finally:
        await synapse.remove()


HOSTILE_PARTS = ["<script>alert(1)</script>", "<a href=\"javascript:alert(1)\">x</a>", "@room",
                 "<img src=x onerror=alert(1)>", "&lt;b&gt;", "&amp;", "]]>", "<!--", "-->",
                 "\u202e", "\u2066", "<b>", "\"'><", "<ol><li>", "@wayfinder:localhost",
                 "https://evil.example/<x>", "\U0001F600", "<br/>", "</p>", "<mx-reply>",
                 "{{x}}", "${x}", "\\", "\t", "\n", "<p style=x>", "&#60;", "&#x3c;",
                 "<a href=https://matrix.to/#/@room>"]


def hostile(rng: random.Random) -> str:
    return "".join(rng.choice(HOSTILE_PARTS) for _ in range(rng.randint(1, 6)))


class FormattedBody(HTMLParser):
    """Tags, attributes and text of a formatted_body."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment in formatted_body: {data!r}")


@pytest.mark.slow(seconds=200)
async def test_500_hostile_names_and_bodies_are_escaped_and_ping_nobody(
        synapse: Synapse, sqlite_url: str, tmp_path: Path) -> None:
    bot_id = await synapse.register("wayfinder", BOT_PASSWORD)
    ana = await person(synapse, "ana", tmp_path)
    rng = random.Random(4)
    config = matrix_config(synapse, bot_id, tmp_path / "bot", encrypt_direct_rooms=False)
    try:
        async with running_bot(config, sqlite_url):
            dm = await ana.open_direct(bot_id)
            for n in range(500):
                await ana.client.set_displayname(f"dn-token-{n} {hostile(rng)}")
                # Both answers quote the person's words back.
                text = f"!region x{hostile(rng)}" if n % 2 else f"!zz{hostile(rng)}"
                await ana.say(dm, text)
            replies = [(await ana.notice(within=60))[1] for _ in range(500)]
    finally:
        await ana.close()
    for reply in replies:
        content = reply.source["content"]
        assert content["m.mentions"] == {}, content  # no ping, not even @room
        parsed = FormattedBody(content["formatted_body"])
        assert {tag for tag, _attrs in parsed.tags} <= ALLOWED_TAGS, content
        assert all(not attrs for tag, attrs in parsed.tags if tag != "a"), content
        # Every character the person sent is text, not markup: the formatted body's text is
        # the plain body (line breaks are <br>).
        assert "".join(parsed.text) == content["body"].replace("\n", ""), content
        assert "dn-token" not in content["body"]  # display names are never used
    assert sum("I don't know the region" in r.body for r in replies) == 250
    # A "!zz..." that does not parse as a command is a newcomer's first words: a greeting.
    assert all(r.body.startswith(("I don't know the command", "Hi! I'm Wayfinder"))
               for r in replies[0::2])


def _bot_config(tmp_path: Path, synapse: Synapse, bot_id: str, room: str) -> Path:
    config = tmp_path / "wayfinder.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "wayfinder.db"}"\n'
        f'[adapters.matrix]\nenabled = true\nhomeserver = "{synapse.url}"\n'
        f'user_id = "{bot_id}"\npassword_env = "MX_PW"\npickle_key_env = "MX_PICKLE"\n'
        f'store_path = "{tmp_path / "bot-store"}"\nrooms = ["{room}"]\n'
        "sync_timeout_seconds = 5.0\n")
    return config


class BotProcess:
    """`wayfinder run` in a child process; ready once it logs its first sync."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "-v", "run", "-c", str(self.config),
            cwd=self.config.parent, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "MX_PW": BOT_PASSWORD, "MX_PICKLE": PICKLE_KEY})
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(ready))
        try:
            await asyncio.wait_for(ready.wait(), 30)
        except TimeoutError:
            raise AssertionError("the bot did not get in sync:\n" +
                                 "".join(self.log[-30:])) from None

    async def _read(self, ready: asyncio.Event) -> None:
        assert self.proc is not None
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.log.append(line)
            if "matrix: in sync as" in line:
                ready.set()

    async def stop(self, how: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(how)
        await asyncio.wait_for(self.proc.wait(), 20)
        if self._reader is not None:
            await self._reader


async def test_five_restarts_half_kill_9_no_reply_lost_or_doubled_and_still_decrypting(
        synapse: Synapse, tmp_path: Path) -> None:
    bot_id = await synapse.register("wayfinder", BOT_PASSWORD)
    ana = await person(synapse, "ana", tmp_path)
    room = await ana.create_room([bot_id], encrypted=True)
    bot = BotProcess(_bot_config(tmp_path, synapse, bot_id, room))
    # (what ana says, a line of the reply it needs)
    script = [("automation, 5", "What are you good at"),
              ("!skip", "Which programming languages"),
              ("!back", "What are you good at"),
              ("!skip", "Which programming languages"),
              ("!skip", "These projects fit you best")]
    bodies: list[str] = []

    async def until(marker: str) -> None:
        while not bodies or marker not in bodies[-1]:
            bodies.append((await ana.notice(within=30))[1].body)

    try:
        await bot.start()
        await ana.joined(room, bot_id)
        await ana.say(room, "!start")
        await until("What are you interested in?")
        dm = next(r for r in ana.client.rooms if r != room)
        for round_, (text, marker) in enumerate(script, 1):
            if round_ % 2:  # kill -9 while the message is being handled
                await ana.say(dm, text)
                await bot.stop(signal.SIGKILL)
                await bot.start()
            else:  # a clean stop; the message arrives while the bot is away
                await bot.stop(signal.SIGTERM)
                await ana.say(dm, text)
                await bot.start()
            await until(marker)
        await ana.say(dm, "!help")
        await until("this list")
        await asyncio.sleep(2)  # a late duplicate would arrive by now
        while not ana.notices.empty():
            bodies.append(ana.notices.get_nowait()[1].body)
        await bot.stop(signal.SIGTERM)
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            bot.proc.kill()
            await bot.proc.wait()
        await ana.close()
    counts = Counter(bodies)
    doubled = {b[:40]: n for b, n in counts.items()
               if n > (2 if b.startswith(("What are you good at", "Which programming")) else 1)}
    assert doubled == {}, bodies
    assert ana.undecrypted == []  # every reply decrypted, across all restarts
    assert ana.client.rooms[dm].encrypted
