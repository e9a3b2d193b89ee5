"""Due-time scan benchmark: 100,000 people with progress, a few of them due.

Fills a fresh database with people, each with an inactivity due time (nudge), an active
task claim for one in ten, and open help requests for one in a hundred; then times the
queries one scheduler tick runs (due nudges, due escalations, idle claims), and prints one
JSON line with the median and worst of the runs, plus each query's plan.

    python -m bench.scan                      # SQLite in a temporary folder
    python -m bench.scan --url postgresql+asyncpg://postgres@127.0.0.1/scanbench
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

from sqlalchemy.engine import Connection

from storage.bulk import BulkSql
from storage.repository import SqlStore

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _fill(conn: Connection, sql: BulkSql, people: int) -> None:
    at = sql.when(NOW - timedelta(days=30))

    def ph(n: int) -> str:
        return ", ".join("?" * n) if sql.sqlite else ", ".join(f"${i + 1}" for i in range(n))

    conn.exec_driver_sql(f"INSERT INTO person (id, created_at) VALUES ({ph(2)})",
                         [(i, at) for i in range(1, people + 1)])
    # Everyone has a due time; 0.5 % are due now, the rest are spread over the next 2 days.
    conn.exec_driver_sql(
        f"INSERT INTO nudge (person_id, subject, project_id, due_at) VALUES ({ph(4)})",
        [(i, f"workshop:w:s{i % 6}", "pagebot",
          sql.when(NOW - timedelta(minutes=1) if i % 200 == 0
                   else NOW + timedelta(minutes=i % 2880 + 1)))
         for i in range(1, people + 1)])
    conn.exec_driver_sql(
        "INSERT INTO task_claim (task_id, project_id, person_id, claimed_at, last_activity_at,"
        f" outcome) VALUES ({ph(6)})",
        [(f"t{i}", "pagebot", i, at, sql.when(NOW - timedelta(hours=i % 360)), "")
         for i in range(10, people + 1, 10)])
    conn.exec_driver_sql(
        "INSERT INTO help_case (code, person_id, newcomer, project_id, subject, reason, "
        "source, status, level, mentor_key, claimed_by, tried, note, created_at, escalate_at)"
        f" VALUES ({ph(15)})",
        [(f"C{i:07d}", i, f"irc:n{i}", "pagebot", "s", "", "asked", "open", 0, "irc:m", "",
          "[]", "", at, sql.when(NOW - timedelta(minutes=1) if i % 2000 == 7
                                 else NOW + timedelta(minutes=i % 240 + 1)))
         for i in range(7, people + 1, 100)])


def _plans(conn: Connection, sqlite: bool, queries: dict[str, tuple[str, Any]]) -> dict[str, str]:
    plans = {}
    for name, (text, params) in queries.items():
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + text, params).fetchall()
        plans[name] = " | ".join(str(r[-1]) for r in rows)
    return plans


async def run(url: str, people: int, runs: int) -> dict[str, Any]:
    store = SqlStore.open(url, durable=False)
    await store.start()
    sql = store.writer.sql
    await store.db.write(lambda conn: _fill(conn, sql, people))
    await store.db.write(lambda conn: conn.exec_driver_sql("ANALYZE"))
    idle_before = NOW - timedelta(days=14)
    timings = []
    found = (0, 0, 0)
    for _ in range(runs):
        began = time.perf_counter()
        nudges = await store.due_nudges(NOW)
        cases = await store.due_escalations(NOW)
        claims = await store.idle_claims(idle_before)
        timings.append(time.perf_counter() - began)
        found = (len(nudges), len(cases), len(claims))
    ph = "?" if sql.sqlite else "$1"
    now_value, idle_value = sql.when(NOW), sql.when(idle_before)
    queries = {
        "due_nudges": ("SELECT * FROM nudge WHERE due_at IS NOT NULL AND due_at <= "
                       f"{ph} ORDER BY due_at LIMIT 500", (now_value,)),
        "due_escalations": ("SELECT * FROM help_case WHERE escalate_at IS NOT NULL AND "
                            f"escalate_at <= {ph} AND status = 'open' ORDER BY escalate_at "
                            "LIMIT 500", (now_value,)),
        "idle_claims": ("SELECT * FROM task_claim WHERE ended_at IS NULL AND last_activity_at "
                        f"< {ph} ORDER BY last_activity_at LIMIT 500", (idle_value,)),
    }
    plans = await store.db.read(lambda conn: _plans(conn, sql.sqlite, queries))
    await store.close()
    return {
        "backend": "sqlite" if sql.sqlite else "postgresql",
        "people": people,
        "due": {"nudges": found[0], "escalations": found[1], "idle_claims": found[2]},
        "scan_ms_median": round(statistics.median(timings) * 1000, 2),
        "scan_ms_max": round(max(timings) * 1000, 2),
        "plans": plans,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Time one scheduler tick's due-time scan.")
    parser.add_argument("--url", default="", help="database URL (default: SQLite, temporary)")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wayfinder-scan-") as folder:
        url = args.url or f"sqlite+aiosqlite:///{Path(folder) / 'scan.db'}"
        print(json.dumps(asyncio.run(run(url, args.people, args.runs))))


if __name__ == "__main__":
    main()
