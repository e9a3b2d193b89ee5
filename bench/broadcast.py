"""Broadcast benchmark: fan 100,000 invites out into the outbox, then deliver them.

Fills a fresh database with 100,000 people who consented to invites in one region, then
  1. times the fan-out (the broadcaster's batches: select recipients, compose each invite,
     insert outbox rows, move the cursor, one transaction per batch), sampling RSS meanwhile;
  2. delivers them through a memory adapter limited to 10,000 messages per second (the
     dispatcher's feeder pages rows in, marks them sending, lanes send, marks batch sent),
     and reports the rate sustained as a share of that ceiling.
Prints one JSON line.

    python -m bench.broadcast                 # SQLite in a temporary folder
    python -m bench.broadcast --url postgresql+asyncpg://postgres@127.0.0.1/bcbench
    python -m bench.broadcast --languages ,es,pt_BR   # a third each: default, es, pt_BR
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from adapters.memory import MemoryAdapter
from bench.stats import NO_FLOODS
from bot.app import settle_heap
from bot.config import Config, OutboxConfig, config_from_dict
from bot.model import Network, PersonId
from bot.outbox import Dispatcher
from bot.ports import UnitOfWork
from bot.wiring import load_content
from flows.events.broadcaster import Broadcaster
from flows.events.invites import broadcast_plan
from flows.events.records import CreateEvent, Event, ScheduleBroadcast
from flows.events.settings import EventsConfig
from storage.bulk import BulkSql
from storage.repository import SqlStore

ROOT = Path(__file__).resolve().parent.parent
NETWORK = Network("memory")
CEILING = 10_000.0  # messages per second the adapter allows


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """The highest resident set size seen while running."""

    def __init__(self) -> None:
        self.peak = _rss_mb()
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, _rss_mb())
            await asyncio.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self.peak = _rss_mb()
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.peak = max(self.peak, _rss_mb())


def _fill(conn: Connection, sql: BulkSql, people: int,
          languages: tuple[str, ...] = ()) -> None:
    at = sql.when(datetime.now(UTC) - timedelta(days=30))

    def ph(n: int) -> str:
        return ", ".join("?" * n) if sql.sqlite else ", ".join(f"${i + 1}" for i in range(n))

    for start in range(1, people + 1, 20_000):
        ids = range(start, min(people, start + 19_999) + 1)
        conn.exec_driver_sql(f"INSERT INTO person (id, created_at) VALUES ({ph(2)})",
                             [(i, at) for i in ids])
        conn.exec_driver_sql("INSERT INTO identity (network, external_id, person_id, verified, "
                             f"created_at) VALUES ({ph(5)})",
                             [(NETWORK, f"n{i}", i, True, at) for i in ids])
        conn.exec_driver_sql(
            f"INSERT INTO flow_state (person_id, flow, step, data, updated_at) VALUES ({ph(5)})",
            [(i, None, None, '{"events": {"region": "de", "invites": true}}', at) for i in ids])
        conn.exec_driver_sql(
            "INSERT INTO person_standing (person_id, region, timezone, invites, milestone, "
            f"reach, locale) VALUES ({ph(7)})",
            [(i, "de", "", True, 2, NETWORK, languages[i % len(languages)] or None
              if languages else None) for i in ids])
    if not sql.sqlite:
        conn.exec_driver_sql("SELECT setval('person_id_seq', (SELECT max(id) FROM person))")
        # A live database has statistics (autovacuum keeps them); a bulk-filled one has not.
        conn.exec_driver_sql("ANALYZE")


def _config(url: str) -> Config:
    return config_from_dict({"storage": {"url": url, "durable": False},
                             "content": {"path": str(ROOT / "content")},
                             "events": {"quiet_hours": ""}, "inbound": NO_FLOODS}, "(bench)",
                            ROOT)


async def run(url: str, people: int, languages: tuple[str, ...] = ()) -> dict[str, Any]:
    config = _config(url)
    content = load_content(config.content_path())
    store = SqlStore.open(url, durable=False)
    await store.start()
    sql = store.writer.sql
    await store.db.write(lambda conn: _fill(conn, sql, people, languages))
    now = datetime.now(UTC)
    event = Event("bench", "Benchmark meetup", now + timedelta(days=30), "Europe/Berlin", "x",
                  ("europe",), "everyone")
    await store.commit(UnitOfWork(PersonId(0), records=[
        CreateEvent(event, now), ScheduleBroadcast("bench", "invite", now, "bench", now)]))
    broadcaster = Broadcaster(store, broadcast_plan(store, content, config),
                              config.settings_of(EventsConfig).fan_out_batch, lambda: None,
                              lambda: datetime.now(UTC))
    rss_before = _rss_mb()
    with RssSampler() as fan_rss:
        began = time.perf_counter()
        queued = await broadcaster.run_due()
        fan_out_s = time.perf_counter() - began

    adapter = MemoryAdapter.with_rate(NETWORK, CEILING, 100)
    adapter.record = False
    dispatcher = Dispatcher(store, {NETWORK: adapter}, OutboxConfig())
    settle_heap()  # as `wayfinder run` does once started
    with RssSampler() as send_rss:
        began = time.perf_counter()
        await dispatcher.start()
        await dispatcher.drain(3600)
        send_s = time.perf_counter() - began
    await dispatcher.stop()
    counts = await store.outbox_counts()
    await store.close()
    rate = adapter.count / send_s
    return {
        "backend": "sqlite" if sql.sqlite else "postgresql",
        "people": people,
        "languages": list(languages),
        "fan_out": {"queued": queued, "seconds": round(fan_out_s, 2),
                    "per_s": round(queued / fan_out_s),
                    "rss_mb_before": round(rss_before), "rss_mb_peak": round(fan_rss.peak)},
        "delivery": {"sent": adapter.count, "seconds": round(send_s, 2), "per_s": round(rate),
                     "share_of_ceiling": round(rate / CEILING, 3),
                     "rss_mb_peak": round(send_rss.peak), "outbox": counts},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Fan out and deliver a 100k broadcast.")
    parser.add_argument("--url", default="", help="database URL (default: SQLite, temporary)")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--languages", default="",
                        help="the recipients' languages in turn, e.g. en,es,pt_BR (default: "
                             "none stated, all in the community's default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wayfinder-broadcast-") as folder:
        url = args.url or f"sqlite+aiosqlite:///{Path(folder) / 'broadcast.db'}"
        languages = tuple(args.languages.split(",")) if args.languages else ()
        print(json.dumps(asyncio.run(run(url, args.people, languages))))


if __name__ == "__main__":
    main()
