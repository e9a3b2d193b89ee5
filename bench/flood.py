"""Floods: one person sends 1,000 commands in 10 seconds while others talk at a person's
pace; prints the others' latency with and without the flood, and what the flooder got.

    python -m bench.flood [--others 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters.memory import MemoryAdapter
from bench.stats import percentiles
from bot.app import App
from bot.config import config_from_dict
from bot.model import Network

CONTENT = Path(__file__).resolve().parent.parent / "content"
CALM = ["!start", "!skip", "!skip", "!skip", "Handbook", "!status", "!help", "!events"]


async def run(others: int, seconds: float, flood: bool, folder: Path) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{folder / ('flood.db' if flood else 'calm.db')}"
    config = config_from_dict({"storage": {"url": url, "durable": True},
                               "content": {"path": str(CONTENT)}}, "(bench)", folder)
    adapter = MemoryAdapter(Network("memory"), record=False)
    app = App(config, [adapter])  # the default limits: 12 a person, 30 a room, per 10 s
    await app.start(tick=False)
    adapter.attach(app.inbound)
    latencies: list[float] = []

    async def calm(name: str) -> None:
        for n in range(int(seconds)):  # one message a second: a quick typist
            began = time.perf_counter()
            await adapter.deliver(adapter.inbound(name, CALM[n % len(CALM)]))
            latencies.append(time.perf_counter() - began)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))

    async def flooder() -> None:
        gap = seconds / 1000
        for _ in range(1000):
            began = time.perf_counter()
            await adapter.deliver(adapter.inbound("flooder", "!status"))
            await asyncio.sleep(max(0.0, gap - (time.perf_counter() - began)))

    before = adapter.count
    tasks = [calm(f"user{n}") for n in range(others)]
    await asyncio.gather(*tasks, *([flooder()] if flood else []))
    await app.dispatcher.drain(60)
    dropped = app.engine.person_gate.dropped
    await app.close()
    return {"flood": flood, **percentiles(latencies), "others_messages": len(latencies),
            "flood_dropped": dropped, "replies": adapter.count - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--others", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wayfinder-bench-") as folder:
        for flood in (False, True):
            print(json.dumps(asyncio.run(run(args.others, args.seconds, flood, Path(folder)))))


if __name__ == "__main__":
    main()
