"""Reports benchmark: 100,000 people and 1,000,000 progress events (with their task claims,
certificates, event answers, regions and accounts), then each `wayfinder report` timed on
SQLite and on PostgreSQL. Target: under 1 s each. Prints one JSON line per database.

    python -m bench.reports [--people 100000] [--events 1000000] [--pg-url URL]

The data is made by `populate` (deterministic for a seed): tests/test_reports.py builds a small
set with it and checks the reports against the counts it returns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.model import compact_json
from flows.path.api import MORE_INVOLVED_AT
from storage.bulk import BulkSql
from storage.repository import SqlStore

CONTENT = Path(__file__).resolve().parent.parent / "content"
REPORTS = ("funnel", "cohorts", "time-to-first-task", "projects", "regions", "networks",
           "travel", "retention")
BASE = datetime(2025, 1, 1, tzinfo=UTC)
PROJECTS = ("handbook", "lingo", "mapview", "pagebot")
REGIONS = ("de", "fr", "in", "br", "ng", "us", "")
NETWORKS = ("irc", "matrix", "telegram")
FILLER = ("paused", "resumed", "step_skipped", "nudged")  # events the reports do not count


@dataclass
class Expected:
    """What the reports must find in the data `populate` made."""

    steps: Counter[str] = field(default_factory=Counter)  # funnel step -> people
    people: int = 0
    events: int = 0


def _rows(people: int, events: int, seed: int) -> tuple[dict[str, list[tuple[Any, ...]]],
                                                        Expected]:
    rng = random.Random(seed)
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in (
        "person", "identity", "flow_state", "person_standing", "progress_event", "task_claim",
        "certificate", "rsvp")}
    expected = Expected(people=people)
    for pid in range(1, people + 1):
        created = BASE + timedelta(minutes=rng.randrange(365 * 24 * 60))
        network = NETWORKS[pid % len(NETWORKS)]
        out["person"].append((pid, created))
        out["identity"].append((network, f"user{pid}", pid, True, created))
        region = REGIONS[rng.randrange(len(REGIONS))]
        project = PROJECTS[rng.randrange(len(PROJECTS))]
        mine: list[tuple[str, dict[str, Any], datetime]] = []
        at = created + timedelta(minutes=1)
        mine.append(("started", {"origin": ""}, at))
        expected.steps["started"] += 1
        tasks_done = 0
        chosen = rng.random() < 0.8
        if chosen:
            at += timedelta(hours=rng.randrange(1, 72))
            mine.append(("project_chosen", {"project": project}, at))
            expected.steps["project"] += 1
        if chosen and rng.random() < 0.6:
            for step in range(3):
                at += timedelta(hours=rng.randrange(1, 48))
                mine.append(("step_done", {"workshop": project, "step": f"s{step}"}, at))
            mine.append(("workshop_done", {"workshop": project}, at))
            out["certificate"].append((f"C{pid:07d}", pid, f"user{pid}", project,
                                       f"{project.title()} workshop", at))
            expected.steps["workshop"] += 1
            while tasks_done < 5 and rng.random() < (0.55 if tasks_done == 0 else 0.5):
                task = f"{project}-t{tasks_done}"
                claimed = at + timedelta(hours=rng.randrange(1, 24 * 14))
                at = claimed + timedelta(hours=rng.randrange(1, 24 * 10))
                mine.append(("task_claimed", {"task": task, "project": project}, claimed))
                mine.append(("task_done", {"task": task}, at))
                out["task_claim"].append((task, project, pid, claimed, at, at, "done"))
                tasks_done += 1
        if tasks_done:
            expected.steps["first_task"] += 1
        if tasks_done >= 3:
            expected.steps["involved"] += 1
        if rng.random() < 0.15:
            out["rsvp"].append((f"meetup-{pid % 12}", pid, "yes", at + timedelta(days=1)))
            expected.steps["event"] += 1
        # filler up to the total asked for, spread over the people left
        want = round((events - expected.events) / (people - pid + 1))
        while len(mine) < want:
            at += timedelta(hours=rng.randrange(1, 24))
            mine.append((FILLER[rng.randrange(len(FILLER))], {}, at))
        for kind, detail, when in mine:
            out["progress_event"].append((pid, kind, compact_json(detail), when))
        expected.events += len(mine)
        data = {"path": {"project": project if chosen else "", "tasks_done": tasks_done,
                         "completed_workshops": [f"{project}-get-started"] if tasks_done or any(
                             k == "workshop_done" for k, _, _ in mine) else []}}
        out["flow_state"].append((pid, None, None, compact_json(data), at))
        out["person_standing"].append((pid, region, "", bool(region), 0, network))
    return out, expected


COLUMNS = {
    "person": ("id", "created_at"),
    "identity": ("network", "external_id", "person_id", "verified", "created_at"),
    "flow_state": ("person_id", "flow", "step", "data", "updated_at"),
    "person_standing": ("person_id", "region", "timezone", "invites", "milestone", "reach"),
    "progress_event": ("person_id", "kind", "detail", "at"),
    "task_claim": ("task_id", "project_id", "person_id", "claimed_at", "last_activity_at",
                   "ended_at", "outcome"),
    "certificate": ("code", "person_id", "holder", "workshop_id", "workshop_title", "issued_at"),
    "rsvp": ("event_id", "person_id", "answer", "at"),
}
JSON_COLUMNS = {("flow_state", "data"), ("progress_event", "detail")}


async def populate(store: SqlStore, people: int, events: int, seed: int = 7) -> Expected:
    """Write the made-up people into `store` (migrated, empty): COPY on PostgreSQL, batched
    inserts on SQLite."""
    rows, expected = _rows(people, events, seed)
    db = store.db
    if db.is_sqlite:
        sql = BulkSql("sqlite")

        def write(conn: Any) -> None:
            for table, columns in COLUMNS.items():
                marks = ",".join("?" * len(columns))
                converted = [tuple(sql.when(v) if isinstance(v, datetime) else v for v in row)
                             for row in rows[table]]
                conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) "
                                     f"VALUES ({marks})", converted)
            conn.exec_driver_sql("ANALYZE")

        await db.write(write)
        return expected
    engine = db._async  # the benchmark's own bulk load: asyncpg's COPY
    assert engine is not None
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        for table, columns in COLUMNS.items():
            await driver.copy_records_to_table(table, records=rows[table], columns=columns)
        await driver.execute("SELECT setval('person_id_seq', (SELECT max(id) FROM person))")
        await driver.execute("ANALYZE")
    return expected


async def populate_more(store: SqlStore, people: int, events: int) -> None:
    """`events` more progress events (tasks done) of the first people, as a day of turns
    would write them: what the next report's refresh reads."""
    at = BASE + timedelta(days=400)
    rows = [(1 + n % people, "task_done", "{}", at) for n in range(events)]

    def write(conn: Any) -> None:
        sql = BulkSql("sqlite" if store.db.is_sqlite else "postgresql")
        sql.insert_events(conn, [(p, k, d, sql.when(a)) for p, k, d, a in rows])

    await store.db.write(write)


def _time_commands(url: str) -> dict[str, float]:
    """Each `wayfinder report NAME` run in this process (as organizers run it, less Python's
    start), its table printed to nowhere."""
    from click.testing import CliRunner

    from bot.cli import main

    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        toml = Path(folder) / "wayfinder.toml"
        toml.write_text(f'[storage]\nurl = "{url}"\ndurable = false\n[content]\n'
                        f'path = "{CONTENT}"\n', encoding="utf-8")
        runner = CliRunner()
        for name in REPORTS:
            started = time.perf_counter()
            result = runner.invoke(main, ["report", name, "-c", str(toml)])
            seconds[name] = round(time.perf_counter() - started, 3)
            if result.exit_code != 0:
                raise RuntimeError(f"wayfinder report {name}: {result.output}")
    return seconds


async def time_reports(url: str, people: int, events: int) -> dict[str, Any]:
    store = SqlStore.open(url, durable=False)
    await store.migrate()
    started = time.perf_counter()
    await populate(store, people, events)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    summarised = await store.refresh_milestones(MORE_INVOLVED_AT)  # the backfill, once
    backfill = time.perf_counter() - started
    started = time.perf_counter()
    await populate_more(store, people, 1000)
    await store.refresh_milestones(MORE_INVOLVED_AT)
    incremental = time.perf_counter() - started
    await store.db.dispose()
    seconds = await asyncio.to_thread(_time_commands, url)
    return {"database": "sqlite" if url.startswith("sqlite") else "postgresql",
            "people": people, "events": events, "load_seconds": round(loaded, 1),
            "summary_backfill_seconds": round(backfill, 2), "summarised": summarised,
            "add_1000_events_and_refresh_seconds": round(incremental, 3),
            "report_seconds": seconds, "slowest": max(seconds.values()),
            "target_s": 1.0, "ok": max(seconds.values()) < 1.0}


async def _fresh_pg(url: str) -> str:
    """A new database beside the one `url` names, dropped and created again."""
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = "wayfinder_bench_reports"
    admin = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(
        hide_password=False))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return parsed.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/"
                                            "postgres", help="'' to skip PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'reports.db'}"
        print(json.dumps(asyncio.run(time_reports(url, args.people, args.events))), flush=True)
    if args.pg_url:
        pg = asyncio.run(_fresh_pg(args.pg_url))
        print(json.dumps(asyncio.run(time_reports(pg, args.people, args.events))), flush=True)


if __name__ == "__main__":
    main()
