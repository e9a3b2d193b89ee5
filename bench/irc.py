"""IRC benchmark: `!start` in a channel to the bot's first private reply, through a real
InspIRCd on loopback (the test template: relaxed server flood limits).

Newcomers say `!start over` in the channel, one at a time; each sample is the time from
writing that line to the first line of the answer arriving. The same is measured against an
echo client (a raw socket that answers `!start` in the channel with one private line), so
the bot's own share is the bot's round trip minus the echo's: parsing, routing, the durable
commit (SQLite, synchronous=FULL), the outbox and the line writer. The bot's own flood limit
is raised so that it does not queue the samples.

    python -m bench.irc --samples 500
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from pathlib import Path
from typing import Any

from adapters.irc.client import IrcAdapter
from adapters.irc.config import IrcConfig
from bench.stats import NO_FLOODS, percentiles, sampling_main
from bot.app import App, settle_heap
from bot.config import config_from_dict
from tests.ircservers import Client, start_server

CONTENT = Path(__file__).resolve().parent.parent / "content"
CHANNEL = "#lumen-docs"
PEOPLE = 10


async def _echo(port: int) -> tuple[Client, asyncio.Task[None]]:
    """A client that answers `!start` in the channel with one private line, as fast as it can."""
    echo = Client("echo")
    await echo.connect(port)
    await echo.join(CHANNEL)

    async def serve() -> None:
        while True:
            line = await echo.lines.get()
            if line.command == "PRIVMSG" and line.params[0] == CHANNEL and \
                    line.params[-1].startswith("!start"):
                echo.say(line.nick, "echo")

    return echo, asyncio.create_task(serve())


async def _round_trips(people: list[Client], target: str, samples: int) -> list[float]:
    times: list[float] = []
    for n in range(samples):
        who = people[n % len(people)]
        started = time.perf_counter()
        who.say(CHANNEL, "!start over")
        await who.from_bot(target, 10)
        times.append(time.perf_counter() - started)
        with contextlib.suppress(TimeoutError):  # the rest of a multi-line answer
            while True:
                await who.from_bot(target, 0.05)
    return times


async def run(samples: int, folder: Path) -> dict[str, Any]:
    server = await start_server("inspircd")
    try:
        people = [Client(f"newcomer{n}") for n in range(PEOPLE)]
        await asyncio.gather(*(p.connect(server.port) for p in people))
        await asyncio.gather(*(p.join(CHANNEL) for p in people))
        echo, echo_task = await _echo(server.port)
        echo_times = await _round_trips(people, "echo", samples)
        echo_task.cancel()
        await echo.close()

        config = config_from_dict({"storage": {"url": f"sqlite+aiosqlite:///{folder / 'irc.db'}"},
                                   "content": {"path": str(CONTENT)},
                               "inbound": NO_FLOODS}, "(bench)", folder)
        irc = IrcConfig.model_validate({"enabled": True, "host": "127.0.0.1",
                                        "port": server.port, "tls": False,
                                        "channels": [CHANNEL], "burst": 1000,
                                        "lines_per_second": 10000.0})
        adapter = IrcAdapter(irc)
        app = App(config, [adapter])
        await app.start(tick=False)
        serving = asyncio.create_task(app.serve())
        await asyncio.wait_for(adapter.ready.wait(), 20)
        settle_heap()
        await _round_trips(people, "wayfinder", PEOPLE)  # warm-up: first contact
        bot_times = await _round_trips(people, "wayfinder", samples)
        app.stop()
        await serving
        await app.close()
        for person in people:
            await person.close()
    finally:
        await server.stop()
    share = [b - e for b, e in zip(sorted(bot_times), sorted(echo_times), strict=True)]
    return {"samples": samples, "bot_round_trip": percentiles(bot_times),
            "echo_round_trip": percentiles(echo_times),
            "bot_share_p50_ms": round((statistics.median(bot_times) -
                                       statistics.median(echo_times)) * 1000, 2),
            "bot_share_by_rank": percentiles(share)}


def main() -> None:
    sampling_main("Time !start to first reply over IRC.", "wayfinder-irc-", run)


if __name__ == "__main__":
    main()
