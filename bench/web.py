"""Web pages benchmark: each public page, and each dashboard page as a logged-in organizer,
timed over HTTP (uvicorn on 127.0.0.1, as
`wayfinder web` serves it) with 100,000 people in the store (bench.reports' data: their task
claims, certificates and answers), on SQLite and on PostgreSQL. Target: p50 under 50 ms for
each page. Prints one JSON line per database and cache setting.

    python -m bench.web [--people 100000] [--events 200000] [--requests 200] [--pg-url URL]

"cached": the hub's open-task reads are shared between visitors for a few seconds (as
served); "uncached": every request reads the store again (the worst case, a cold cache).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.reports import BASE, CONTENT, _fresh_pg, populate
from bot.model import ExternalId, Identity, Network, PersonId
from bot.ports import UnitOfWork
from bot.wiring import Config, load_config
from flows.dashboard.records import LoginLink
from flows.dashboard.tokens import LOGIN_SALT, new_nonce, nonce_hash, sign
from flows.path.records import Certificate, RevokeCertificate
from storage.repository import SqlStore
from web.dashboard import REPORTS
from web.server import WebServer, alone

PAGES = ("/", "/projects/pagebot", "/events", "/events?region=europe&tz=Asia%2FTokyo",
         "/certificates", "/certificates/GOOD-2345", "/certificates/GONE-6789",
         "/certificates/NOPE-0000")
# The dashboard's pages, as an organizer logged in with a `!dashboard` link sees them.
DASHBOARD = ("/dashboard", "/dashboard/people", "/dashboard/people?q=77", "/dashboard/people/77",
             "/dashboard/people?project=pagebot&stage=3", "/dashboard/reports",
             *(f"/dashboard/charts/{name}.svg" for name in REPORTS),
             "/dashboard/reports/travel.csv",  # the longest table: everyone far enough along
             "/dashboard/events", "/dashboard/mentors", "/dashboard/dead-letters",
             "/dashboard/audit")
ORGANIZER = "irc:bench-organizer"
TARGET_MS = 50.0


async def _load(url: str, people: int, events: int) -> None:
    store = SqlStore.open(url, durable=False)
    await store.migrate()
    await populate(store, people, events)
    await store.db.dispose()
    store = SqlStore.open(url, durable=False)
    await store.start()
    try:  # two certificates with codes as the bot issues them, one revoked
        for code, pid in (("GOOD-2345", 1), ("GONE-6789", 2)):
            await store.commit(UnitOfWork(PersonId(pid), records=[Certificate(
                code, PersonId(pid), f"Person {pid}", "pagebot-get-started",
                "Get started with Pagebot", BASE + timedelta(days=30))]))
        await store.commit(UnitOfWork(PersonId(0), records=[
            RevokeCertificate("GONE-6789", "bench", "cli:bench", BASE + timedelta(days=31))]))
    finally:
        await store.close()


def _config(url: str, folder: Path) -> Config:
    toml = folder / "wayfinder.toml"
    toml.write_text(f'[storage]\nurl = "{url}"\ndurable = false\n[content]\n'
                    f'path = "{CONTENT}"\n[roles]\norganizers = ["{ORGANIZER}"]\n',
                    encoding="utf-8")
    return load_config(toml)


async def _login_link(url: str) -> str:
    """A login link's token for the organizer, as `!dashboard` issues it."""
    store = SqlStore.open(url, durable=False)
    await store.start()
    try:
        network, _, name = ORGANIZER.partition(":")
        person = await store.person_for(Identity(Network(network), ExternalId(name), True))
        nonce, now = new_nonce(), datetime.now(UTC)
        await store.commit(UnitOfWork(person, records=[LoginLink(
            nonce_hash(nonce), person, ORGANIZER, now, now + timedelta(minutes=10))]))
        return sign(await store.dashboard_key(), LOGIN_SALT, nonce)
    finally:
        await store.close()


async def _time_pages(config: Config, requests: int, cached: bool) -> dict[str, Any]:
    async with alone(config, cache_seconds=5.0 if cached else 0.0) as app:
        server = WebServer(app, "127.0.0.1", 0)
        await server.start()
        try:
            # The first dashboard visit summarises every progress event (the reports' backfill).
            async with httpx.AsyncClient(base_url=server.url, timeout=600) as client:
                token = await _login_link(config.storage.url)
                login = await client.post("/login", data={"token": token})
                if login.status_code != 303:
                    raise RuntimeError(f"logging in: {login.status_code}")
                timings: dict[str, dict[str, float]] = {}
                for path in (*PAGES, *DASHBOARD):
                    for _ in range(5):  # warm up: connections, template compilation
                        await client.get(path)
                    seconds = []
                    for _ in range(requests):
                        started = time.perf_counter()
                        response = await client.get(path)
                        seconds.append(time.perf_counter() - started)
                        if response.status_code not in (200, 404):
                            raise RuntimeError(f"{path}: {response.status_code}")
                    seconds.sort()
                    timings[path] = {
                        "p50_ms": round(statistics.median(seconds) * 1000, 2),
                        "p95_ms": round(seconds[int(len(seconds) * 0.95) - 1] * 1000, 2)}
        finally:
            await server.stop()
    slowest = max(t["p50_ms"] for t in timings.values())
    return {"cache": "cached" if cached else "uncached", "pages": timings,
            "slowest_p50_ms": slowest, "target_p50_ms": TARGET_MS, "ok": slowest < TARGET_MS}


async def bench(url: str, people: int, events: int, requests: int) -> list[dict[str, Any]]:
    started = time.perf_counter()
    await _load(url, people, events)
    loaded = round(time.perf_counter() - started, 1)
    with tempfile.TemporaryDirectory() as folder:
        config = _config(url, Path(folder))
        results = []
        for cached in (True, False):
            found = await _time_pages(config, requests, cached)
            results.append({"database": "sqlite" if url.startswith("sqlite") else "postgresql",
                             "people": people, "load_seconds": loaded, "requests": requests,
                             **found})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200, help="per page")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/"
                                            "postgres", help="'' to skip PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'web.db'}"
        for line in asyncio.run(bench(url, args.people, args.events, args.requests)):
            print(json.dumps(line), flush=True)
    if args.pg_url:
        pg = asyncio.run(_fresh_pg(args.pg_url))
        for line in asyncio.run(bench(pg, args.people, args.events, args.requests)):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
