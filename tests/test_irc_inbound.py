"""The IRC adapter hands its lines to the core's inbound processor: a flood from one client
against the real ngIRCd leaves the bot's task count bounded, and every line is answered."""

from __future__ import annotations

import asyncio
import logging

import pytest

from adapters.irc.client import TRY_AGAIN
from bot.ports import Outcome
from tests.harness import NO_FLOOD_LIMITS
from tests.ircservers import start_server
from tests.test_irc import BOT, CHANNEL, IrcBot, irc_config, person

FLOOD = 300


async def test_a_flood_of_300_lines_from_one_client_keeps_the_bots_tasks_bounded(
        sqlite_url: str) -> None:
    server = await start_server("ngircd")
    try:
        eve = await person(server.port, "eve")
        # The back-pressure under test, not the flood limits (tests/test_floods.py has those).
        bounds: dict[str, object] = {"max_in_flight": 4, "max_queued": 8, **NO_FLOOD_LIMITS}
        async with IrcBot(sqlite_url, irc_config(server.port), inbound=bounds) as bot:
            eve.say(BOT, "!status")
            per_reply = len((await eve.reply(BOT)).splitlines())
            baseline = len(asyncio.all_tasks())
            peak = baseline
            counting = True

            async def count_tasks() -> None:
                nonlocal peak
                while counting:
                    peak = max(peak, len(asyncio.all_tasks()))
                    await asyncio.sleep(0.001)

            counter = asyncio.create_task(count_tasks())
            for _ in range(FLOOD):
                eve.say(BOT, "!status")
            got = 0
            while got < FLOOD * per_reply:  # every line answered, in full
                await eve.from_bot(BOT, within=30)
                got += 1
            counting = False
            await counter
            counts = await bot.app.store.message_counts()
            assert sum(counts.values()) == FLOOD + 1  # each line committed once
            # A task per line would have been 300; the processor runs at most 4 workers, and
            # the adapter at most one task waiting to read the socket again.
            assert peak <= baseline + 1 + 4 + 1 + 3, (baseline, peak)
            assert bot.adapter.pauses >= 1  # the full queue paused reading the socket
            assert bot.app.inbound.peak_in_flight <= 4
            assert bot.adapter.sessions == 1  # a paused read never looked like a dead link
        await eve.close()
    finally:
        await server.stop()


async def test_a_line_that_could_not_be_handled_is_logged_and_a_private_one_asked_again(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The future of a submitted line was discarded: a line that failed (the store down) got
    no reply and no log, and IRC never sends it again."""
    server = await start_server("ngircd")
    try:
        eve = await person(server.port, "eve")
        await eve.join(CHANNEL)
        async with IrcBot(sqlite_url, irc_config(server.port)) as bot:

            async def store_down(_inbound: object) -> Outcome:
                return Outcome.FAILED

            bot.app.inbound.handle = store_down
            with caplog.at_level(logging.WARNING, logger="adapters.irc.client"):
                eve.say(CHANNEL, "!status")  # in a channel: logged, never answered there
                eve.say(BOT, "!status")
                assert await eve.reply(BOT) == TRY_AGAIN
                with pytest.raises(TimeoutError):
                    await eve.expect(lambda ln: ln.command == "PRIVMSG" and ln.nick == BOT,
                                     within=0.5)
            lost = [r.getMessage() for r in caplog.records if "could not be handled" in
                    r.getMessage()]
            assert len(lost) == 2
            assert all("irc:~eve" in m for m in lost)  # an unverified nick
        await eve.close()
    finally:
        await server.stop()
