"""Matrix benchmark: `!start` to the first reply, through a real Synapse on loopback (the test
template: relaxed rate limits), in unencrypted and in end-to-end encrypted direct rooms.

Ten newcomers (matrix-nio clients, encryption on) each have a direct room with the bot and
say `!start over` there, one at a time; a sample is the time from sending to the first notice
arriving in the newcomer's sync. The same is measured, in turn with the bot's samples,
against an echo client written with plain matrix-nio (it answers `!start` with one notice,
encrypted when the room is) and running beside the bot, so the bot's own share is the bot's
round trip minus the echo's: sync handling, decryption, the durable commit (SQLite,
synchronous=FULL), the outbox, encryption and the send. Also reported: the longest the
event loop was held up (nio's crypto store writes SQLite synchronously on the loop).

    python -m bench.matrix --samples 200
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomMessageText,
    SyncResponse,
)

from adapters.matrix.client import MatrixAdapter
from bench.stats import NO_FLOODS, percentiles, sampling_main
from bot.app import App, settle_heap
from bot.config import config_from_dict
from tests.matrixkit import BOT_PASSWORD, PICKLE_KEY, Person, matrix_config
from tests.synapse import Synapse, start_synapse

CONTENT = Path(__file__).resolve().parent.parent / "content"
PEOPLE = 10


class Echo:
    """Answers `!start` from anyone with one notice, in the same room, as fast as nio can."""

    def __init__(self, synapse: Synapse, mxid: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(synapse.url, mxid, store_path=str(store),
                                  config=AsyncClientConfig(encryption_enabled=True,
                                                           store_sync_tokens=False))
        self.task: asyncio.Task[None] | None = None

    async def start(self, password: str) -> None:
        await self.client.login(password)
        await self.client.keys_upload()
        await self.client.sync(timeout=0)
        self.task = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        client = self.client
        while True:
            answer = await client.sync(timeout=30_000)
            if not isinstance(answer, SyncResponse):
                continue
            for room_id in answer.rooms.invite:
                await client.join(room_id)
            for room_id, info in answer.rooms.join.items():
                for event in info.timeline.events:
                    if isinstance(event, RoomMessageText) and event.sender != client.user_id \
                            and event.body.startswith("!start"):
                        await client.room_send(room_id, "m.room.message",
                                               {"msgtype": "m.notice", "body": "echo"},
                                               ignore_unverified_devices=True)
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self.client.close()


async def _rooms(people: list[Person], partner: str, encrypted: bool) -> list[str]:
    return [await someone.open_direct(partner, encrypted, within=30) for someone in people]


async def _round_trip(someone: Person, room: str) -> float:
    """`!start over` to the first notice in that room; later parts of the answer are let go."""
    started = time.perf_counter()
    await someone.say(room, "!start over")
    while True:
        answered_in, _ = await someone.notice(within=20)
        if answered_in == room:
            break
    took = time.perf_counter() - started
    with contextlib.suppress(AssertionError):  # the rest of the bot's answer
        while True:
            await someone.notice(within=0.15)
    return took


async def _interleaved(people: list[Person], echo_rooms: list[str], bot_rooms: list[str],
                       samples: int) -> tuple[list[float], list[float]]:
    """Echo and bot samples taken in turn, first one then the other, so that a homeserver
    slowing down as its database grows weighs on both alike."""
    echo_times: list[float] = []
    bot_times: list[float] = []
    for n in range(samples):
        someone = people[n % len(people)]
        echo_room, bot_room = echo_rooms[n % len(people)], bot_rooms[n % len(people)]
        if n % 2:
            bot_times.append(await _round_trip(someone, bot_room))
            echo_times.append(await _round_trip(someone, echo_room))
        else:
            echo_times.append(await _round_trip(someone, echo_room))
            bot_times.append(await _round_trip(someone, bot_room))
    return echo_times, bot_times


class LoopWatch:
    """The longest the event loop was late to wake a 5 ms sleeper."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - before - 0.005)

    def stop(self) -> float:
        self.task.cancel()
        return round(self.worst * 1000, 1)


async def _measure(synapse: Synapse, folder: Path, samples: int, encrypted: bool,
                   register: Callable[[str], Awaitable[str]]) -> dict[str, Any]:
    label = "encrypted" if encrypted else "plain"
    people = []
    for n in range(PEOPLE):
        mxid = await register(f"{label}{n}")
        someone = Person(synapse, mxid, folder / f"{label}{n}")
        await someone.login(f"{label}{n}")
        people.append(someone)
    echo_id = await register(f"echo-{label}")
    echo = Echo(synapse, echo_id, folder / f"echo-{label}")
    await echo.start(f"echo-{label}")

    bot_id = await register(f"wayfinder-{label}")
    config = config_from_dict({"storage": {"url": f"sqlite+aiosqlite:///{folder / label}.db"},
                               "content": {"path": str(CONTENT)},
                               "inbound": NO_FLOODS}, "(bench)", folder)
    matrix = matrix_config(synapse, bot_id, folder / f"bot-{label}",
                           sync_timeout_seconds=30.0, messages_per_second=1000.0)
    adapter = MatrixAdapter(matrix, BOT_PASSWORD, PICKLE_KEY)
    app = App(config, [adapter])
    await app.start(tick=False)
    serving = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(adapter.ready.wait(), 30)
        echo_rooms = await _rooms(people, echo_id, encrypted)
        bot_rooms = await _rooms(people, bot_id, encrypted)
        # Warm-up: first contact, keys claimed and shared both ways.
        await _interleaved(people, echo_rooms, bot_rooms, PEOPLE)
        settle_heap()
        watch = LoopWatch()
        echo_times, bot_times = await _interleaved(people, echo_rooms, bot_rooms, samples)
        worst_stall = watch.stop()
    finally:
        app.stop()
        await serving
        await app.close()
        await echo.close()
        for someone in people:
            await someone.close()
    share = [b - e for b, e in zip(sorted(bot_times), sorted(echo_times), strict=True)]
    return {"bot_round_trip": percentiles(bot_times),
            "echo_round_trip": percentiles(echo_times),
            "bot_share_p50_ms": round((statistics.median(bot_times) -
                                       statistics.median(echo_times)) * 1000, 2),
            "bot_share_by_rank": percentiles(share),
            "bot_loop_worst_stall_ms": worst_stall}


async def run(samples: int, folder: Path) -> dict[str, Any]:
    synapse = await start_synapse()
    try:
        async def register(name: str) -> str:
            return await synapse.register(name, name if not name.startswith("wayfinder")
                                          else BOT_PASSWORD)

        return {"samples": samples,
                "plain": await _measure(synapse, folder, samples, False, register),
                "encrypted": await _measure(synapse, folder, samples, True, register)}
    finally:
        await synapse.remove()


def main() -> None:
    sampling_main("Time !start to first reply over Matrix.", "wayfinder-matrix-", run)


if __name__ == "__main__":
    main()
