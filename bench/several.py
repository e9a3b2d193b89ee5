"""bench.core on PostgreSQL, with one or more bot processes on one database.

A fresh database is created on the server the URL names and dropped afterwards. Each process
runs its own App (engine, writer, dispatcher, memory adapter); a person's k-th message goes
to process k % N, so every person's messages alternate between the processes (the hardest
case for the state versions: each process's cached state is stale half the time, and with
many messages in flight one person is often handled by two processes at once, which then
take turns: storage/leader.py PersonLocks). The processes start,
say they are ready, and are released together; the figure is all messages over the time from
the first start to the last finish. Lost updates: messages whose count is missing from the
person's committed state (each turn adds one), read after every process has finished.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import pstats
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from adapters.memory import MemoryAdapter
from bench.stats import NO_FLOODS
from bot.app import App
from bot.config import config_from_dict
from bot.model import Inbound, Network
from storage.repository import SqlStore


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def child(url: str, index: int, processes: int, messages: int, people: int, rooms: int,
                in_flight: int, profile: bool) -> None:
    from bench.core import CONTENT, SCRIPT, deliver_all

    config = config_from_dict({"storage": {"url": url, "durable": True},
                               "content": {"path": str(CONTENT)},
                               "inbound": NO_FLOODS}, "(bench)", Path.cwd())
    adapter = MemoryAdapter(Network("memory"), record=False)
    app = App(config, [adapter])
    await app.start(tick=False)
    adapter.attach(app.inbound)
    queue: asyncio.Queue[Inbound] = asyncio.Queue()
    turns: dict[str, int] = {}
    for n in range(messages):
        person = f"user{n % people}"
        turn = turns.get(person, 0)
        turns[person] = turn + 1
        if turn % processes == index:  # her next message goes to the next process
            queue.put_nowait(adapter.inbound(person, SCRIPT[turn % len(SCRIPT)],
                                             room=f"#room{n % rooms}", event_id=f"bench-{n}"))
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    profiler = cProfile.Profile() if profile else None
    started = time.time()
    if profiler is not None:
        profiler.enable()
    latencies = await deliver_all(adapter, queue, in_flight)
    if profiler is not None:
        profiler.disable()
    ended = time.time()
    await app.dispatcher.drain(120)
    result = {"started": started, "ended": ended, "latencies": latencies,
              "delivered": adapter.count, "batches": app.store.writer.batches,
              "conflicts": app.store.writer.conflicts}
    await app.close()
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue(), file=sys.stderr)
    print(json.dumps(result), flush=True)


async def run(url: str, processes: int, messages: int, people: int, rooms: int,
              in_flight: int, profile: bool) -> dict[str, Any]:
    server = make_url(url)
    name = f"wayfinder_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_dsn(url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    db_url = server.set(database=name).render_as_string(hide_password=False)
    try:
        async with SqlStore.open(db_url):  # migrated once, before the processes start
            pass
        args = [str(a) for a in (processes, messages, people, rooms, in_flight)]
        children = [subprocess.Popen(  # noqa: ASYNC220 (a benchmark's start-up, not timed)
            [sys.executable, "-m", "bench.core", "--child", str(i), "--url", db_url,
             "--processes", args[0], "--messages", args[1], "--people", args[2],
             "--rooms", args[3], "--in-flight", args[4], *(["--profile"] if profile and i == 0
                                                         else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for i in range(processes)]
        for proc in children:
            assert proc.stdout is not None
            line = await asyncio.to_thread(proc.stdout.readline)
            if line.strip() != "ready":
                raise RuntimeError(f"a bench process did not start: {line!r}")
        for proc in children:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in children:
            out, _ = await asyncio.to_thread(proc.communicate)
            results.append(json.loads(out.strip().splitlines()[-1]))
        lost, unsent = await _lost(db_url, messages, people)
    finally:
        admin = await asyncpg.connect(_dsn(url))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
    seconds = max(r["ended"] for r in results) - min(r["started"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "processes": processes,
        "messages": messages,
        "seconds": round(seconds, 3),
        "msgs_per_s": round(messages / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "lost_updates": lost,
        "replies_unsent": unsent,  # outbox rows not delivered when every process had stopped
        "conflicts_rerun": sum(r["conflicts"] for r in results),
        "replies_delivered": sum(r["delivered"] for r in results),
        "write_batches": sum(r["batches"] for r in results),
    }


async def _lost(url: str, messages: int, people: int) -> tuple[int, int]:
    sent: dict[str, int] = {}
    for n in range(messages):
        sent[f"user{n % people}"] = sent.get(f"user{n % people}", 0) + 1
    async with SqlStore.open(url) as store:
        counts = await store.message_counts()
        memory = MemoryAdapter(Network("memory"))
        ids = {name: await store.person_for(memory.identity(name)) for name in sent}
        unsent = sum(n for (_, status), n in (await store.outbox_by_network()).items()
                     if status != "sent")
    return sum(max(0, n - counts.get(ids[name], 0)) for name, n in sent.items()), unsent
