"""Core benchmark: N messages from M people across R rooms, every one committed durably.

Each message's state change, inbox row and outbox row are committed on SQLite (WAL,
synchronous=FULL) before its reply is released, exactly as in production; the replies then
go through the outbox dispatcher to a memory adapter. Prints one JSON line.

    python -m bench.core --messages 20000 --people 1000 --rooms 10 --in-flight 16
    python -m bench.core --url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \
        --processes 3      # N bot processes on a fresh database on that server (bench/several)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from adapters.memory import MemoryAdapter
from bench.stats import NO_FLOODS
from bot.app import App, settle_heap
from bot.config import config_from_dict
from bot.model import Inbound, Network
from storage.repository import SqlStore

CONTENT = Path(__file__).resolve().parent.parent / "content"
# What newcomers type: a walk through discovery and a workshop, with status and help on the way.
SCRIPT = ["!start", "!skip", "python, testing", "!skip", "Handbook", "done", "!status",
          "[Lumen](https://lumen.test)", "!help", "done", "not a link", "!status",
          "https://code.lumen.test/handbook/handbook/-/merge_requests/1", "!done", "!task",
          "hello", "!status", "!pause", "!resume", "!release"]


async def deliver_all(adapter: MemoryAdapter, queue: asyncio.Queue[Inbound],
                      in_flight: int) -> list[float]:
    """Deliver everything queued, `in_flight` at a time; each delivery's latency in seconds
    (from handing it over to its committed outcome)."""
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            inbound = queue.get_nowait()
            began = time.perf_counter()
            await adapter.deliver(inbound)
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies


async def run(messages: int, people: int, rooms: int, in_flight: int, folder: Path) -> dict[
        str, float | int]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    config = config_from_dict({"storage": {"url": url, "durable": True},
                               "content": {"path": str(CONTENT)},
                               "inbound": NO_FLOODS}, "(bench)", folder)
    adapter = MemoryAdapter(Network("memory"), record=False)
    app = App(config, [adapter])
    await app.start(tick=False)
    settle_heap()  # as `wayfinder run` does after its start (bot/app.py run_app)
    adapter.attach(app.inbound)  # as every adapter: through the inbound processor
    queue: asyncio.Queue[Inbound] = asyncio.Queue()
    sent_per_person: dict[str, int] = {}
    for n in range(messages):
        person = f"user{n % people}"
        turn = sent_per_person.get(person, 0)
        sent_per_person[person] = turn + 1
        # Built before the clock starts: the benchmark measures the bot, not the fake network.
        queue.put_nowait(adapter.inbound(person, SCRIPT[turn % len(SCRIPT)],
                                         room=f"#room{n % rooms}"))
    started = time.perf_counter()
    latencies = await deliver_all(adapter, queue, in_flight)
    handled = time.perf_counter() - started
    await app.dispatcher.drain(120)
    store: SqlStore = app.store
    counts = await store.message_counts()
    people_ids = {name: await store.person_for(adapter.identity(name)) for name in sent_per_person}
    lost = sum(max(0, sent - counts.get(people_ids[name], 0))
               for name, sent in sent_per_person.items())
    await app.close()
    latencies.sort()
    return {
        "messages": messages,
        "seconds": round(handled, 3),
        "msgs_per_s": round(messages / handled, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "lost_updates": lost,
        "replies_delivered": adapter.count,
        "write_batches": app.store.writer.batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--url", default="", help="a PostgreSQL server (default: SQLite)")
    parser.add_argument("--processes", type=int, default=1, help="bot processes (PostgreSQL)")
    parser.add_argument("--profile", action="store_true", help="profile the first process")
    parser.add_argument("--child", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.url:
        from bench import several

        shape = (args.processes, args.messages, args.people, args.rooms, args.in_flight,
                 args.profile)
        if args.child >= 0:
            asyncio.run(several.child(args.url, args.child, *shape))
        else:
            print(json.dumps(asyncio.run(several.run(args.url, *shape))))
        return
    with tempfile.TemporaryDirectory(prefix="wayfinder-bench-") as folder:
        result = asyncio.run(run(args.messages, args.people, args.rooms, args.in_flight,
                                 Path(folder)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
