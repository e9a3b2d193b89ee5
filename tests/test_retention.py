"""`wayfinder report retention`: who keeps contributing 3 and 6 months after their first
task, from the same forge numbers `!me` shows (read by the due job from the forge stand-ins on
127.0.0.1), on SQLite and PostgreSQL; and the command's CSV and chart."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.i18n import translator
from bot.model import ExternalId, Identity, Network
from flows.crm.records import Window
from services.crm import report, report_in
from services.store import maintenance_store
from storage.bulk import BulkSql
from tests.forges import Contribution, Forges, Profile, running_forges
from tests.harness import FakeClock, Harness, make_config

# The writer stamps progress events with the wall clock: the bot's clock is today too.
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def forges() -> AsyncIterator[Forges]:
    async with running_forges() as running:
        yield running


def _ago(weeks: float) -> datetime:
    return NOW - timedelta(weeks=weeks)


# who: (forge account or "", weeks since the first task, weeks since their last contribution)
PEOPLE = {
    "ada": ("ada-l", 30, 1),     # 6 months on, still contributing
    "bo": ("bo", 30, 40),        # 6 months on, stopped
    "cy": ("cy", 15, 2),         # 3 months on (not 6), still contributing
    "di": ("di", 15, 9),         # 3 months on, stopped in the last 4 weeks
    "ed": ("ed", 5, 1),          # first task too recent to count
    "fa": ("", 30, 0),           # no forge linked: not measured
}


async def _populate(db_url: str, forges: Forges) -> None:
    config = make_config(db_url, forge=forges.settings())
    async with Harness(config, networks=("irc",), clock=FakeClock(NOW)) as bot:
        events = []
        for who, (account, first, last) in PEOPLE.items():
            await bot.say(who, "!start", "irc")
            person = await bot.running.store.person_for(
                Identity(Network("irc"), ExternalId(who), False))
            events += [(person, "started", "{}", _ago(first + 2)),
                       (person, "task_done", "{}", _ago(first))]
            if not account:
                continue
            forges.profiles["github", account] = Profile()
            reply = await bot.say(who, f"!forge github {account}", "irc")
            code = re.search(r"put (wayfinder-\w+) in", reply)
            assert code is not None, reply
            forges.profiles["github", account].bio = code.group(1)
            assert "Verified:" in await bot.say(who, "!forge verify", "irc")
            forges.contributions.append(Contribution("github", "merged", account, _ago(last)))
        await bot.tick()  # the due job reads every verified account's numbers
        sql = BulkSql("sqlite" if bot.running.store.db.is_sqlite else "postgresql")
        await bot.running.store.db.write(
            lambda conn: sql.insert_events(conn, [(p, k, d, sql.when(a))
                                                  for p, k, d, a in events]))


async def test_retention_counts_who_still_contributes_3_and_6_months_on(
        db_url: str, forges: Forges) -> None:
    await _populate(db_url, forges)
    built = await report(make_config(db_url), "retention")
    assert built.columns == ["first task in", "people", "measured (forge linked)",
                             "3 months on", "still contributing", "share",
                             "6 months on", "still contributing", "share"]
    everyone = built.rows[-1]
    # 6 people with a first task, 5 measured; 3 months on: ada, bo, cy, di (ada and cy
    # still contribute); 6 months on: ada and bo (ada does).
    assert everyone == ["all", 6, 5, 4, 2, "50.0%", 2, 1, "50.0%"]
    assert sum(row[1] for row in built.rows[:-1]) == 6
    assert built.chart is not None
    assert built.chart.labels == [row[0] for row in built.rows[:-1]]
    assert set(built.chart.series) == {"3 months on", "6 months on"}
    assert "Measured: people with a verified forge account" in built.notes[0]
    # On the dashboard, in its language: the same numbers.
    config = make_config(db_url)
    async with maintenance_store(config) as store:
        spanish = await report_in(store, config, "retention", Window(None, None),
                                  translator("es"))
    assert spanish.rows[-1] == ["todos", 6, 5, 4, 2, "50.0%", 2, 1, "50.0%"]
    assert spanish.columns[3:6] == ["3 meses después", "siguen contribuyendo", "proporción"]
    assert spanish.title == "Retención tras la primera tarea"


async def test_the_retention_command_prints_writes_csv_and_a_chart(
        sqlite_url: str, forges: Forges, tmp_path: Path) -> None:
    await _populate(sqlite_url, forges)
    toml = tmp_path / "wayfinder.toml"
    toml.write_text(f'[storage]\nurl = "{sqlite_url}"\n', encoding="utf-8")
    out_csv, out_svg = tmp_path / "retention.csv", tmp_path / "retention.svg"
    # The command runs its own event loop: in a thread, as from a shell.
    result = await asyncio.to_thread(CliRunner().invoke, main, [
        "report", "retention", "-c", str(toml), "--csv", str(out_csv), "--chart", str(out_svg)])
    assert result.exit_code == 0, result.output
    assert "Retention after the first task" in result.output
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
    assert rows[-1] == ["all", "6", "5", "4", "2", "50.0%", "2", "1", "50.0%"]
    svg = out_svg.read_text(encoding="utf-8")
    assert "Still contributing 3 and 6 months after the first task" in svg
    assert "month of the first task" in svg
