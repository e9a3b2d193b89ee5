"""The program's reports (funnel, cohorts, time to first task, projects, regions, networks,
travel) over made-up people (bench.reports.populate), on SQLite and PostgreSQL: the counts the
data was made with, the CSV, and each chart drawn with its bars and labels."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.reports import Expected, populate
from bot.config import Config
from bot.i18n import Translator, translator
from flows.crm.records import STEPS, Window
from flows.path.api import MORE_INVOLVED_AT
from services.charts import render_chart
from services.crm import REPORTS, Report, report, report_in
from services.store import maintenance_store
from storage.repository import SqlStore
from tests.harness import Harness, make_config

PEOPLE = 300


@pytest.fixture
async def made(db_url: str) -> tuple[Config, Expected]:
    store = SqlStore.open(db_url, durable=False)
    await store.migrate()
    try:
        expected = await populate(store, PEOPLE, PEOPLE * 10, seed=3)
    finally:
        await store.db.dispose()
    return make_config(db_url), expected


async def test_the_funnel_counts_each_step_and_its_drop_off(
        made: tuple[Config, Expected]) -> None:
    config, expected = made
    assert expected.events == PEOPLE * 10
    funnel = await report(config, "funnel")
    assert [row[0] for row in funnel.rows] == [label for _, label in STEPS]
    assert {key: row[1] for (key, _), row in zip(STEPS, funnel.rows, strict=True)} == {
        key: expected.steps[key] for key, _ in STEPS}
    assert funnel.rows[0][2] == "100.0%"
    project, started = expected.steps["project"], expected.steps["started"]
    assert funnel.rows[1][3] == f"{round(100 * (started - project) / started, 1)}%"
    parsed = list(csv.reader(io.StringIO(funnel.csv())))
    assert parsed[0] == ["step", "people", "of started", "drop-off from previous"]
    assert parsed[1] == ["started", str(PEOPLE), "100.0%", ""]


async def test_a_window_counts_the_people_who_started_in_it(
        made: tuple[Config, Expected]) -> None:
    config, _expected = made
    first_half = await report(config, "funnel", until=datetime(2025, 7, 1, tzinfo=UTC))
    second_half = await report(config, "funnel", since=datetime(2025, 7, 1, tzinfo=UTC))
    assert first_half.rows[0][1] + second_half.rows[0][1] == PEOPLE
    assert 0 < first_half.rows[0][1] < PEOPLE
    assert "from the beginning until 2025-07-01" in first_half.notes[-1]


async def test_cohorts_projects_regions_networks_and_time_to_first_task(
        made: tuple[Config, Expected]) -> None:
    config, expected = made
    cohorts = await report(config, "cohorts")
    months = {row[0] for row in cohorts.rows}
    assert len(months) >= 12
    assert sum(row[1] for row in cohorts.rows if row[2] == "project found") == PEOPLE
    for row in cohorts.rows:  # the share after 1 week <= after 4 <= after 12
        one, four, twelve = (float(v.rstrip("%")) for v in row[3:])
        assert one <= four <= twelve <= 100
    networks = await report(config, "networks")
    assert {row[0] for row in networks.rows} == {"irc", "matrix", "telegram"}
    assert sum(row[1] for row in networks.rows) == PEOPLE
    projects = await report(config, "projects")
    assert sum(row[4] for row in projects.rows) == expected.steps["first_task"]
    regions = await report(config, "regions")
    assert sum(row[1] for row in regions.rows) == PEOPLE
    first = await report(config, "time-to-first-task")
    everyone = [row for row in first.rows if row[0] == "all"]
    assert everyone[0][2] == expected.steps["first_task"]
    assert 0 < everyone[0][3] <= everyone[0][4]
    assert {row[1] for row in first.rows if row[0] == "project"} <= {
        "handbook", "lingo", "mapview", "pagebot"}


async def test_travel_lists_who_made_it_through_the_configured_stage(
        made: tuple[Config, Expected], db_url: str) -> None:
    config, expected = made
    travel = await report(config, "travel")
    assert len(travel.rows) == expected.steps["involved"]
    assert all(row[4] >= 3 for row in travel.rows)  # tasks done
    assert all(row[5] == 1 for row in travel.rows)  # the workshop's certificate
    assert "travel_through_stage = 4" in travel.notes[0]
    wider = await report(make_config(db_url, reports={"travel_through_stage": 3}), "travel")
    assert len(wider.rows) == expected.steps["first_task"]


async def _in(config: Config, name: str, tr: Translator) -> Report:
    """A report in `tr`'s language, as the dashboard asks for it."""
    async with maintenance_store(config) as store:
        await store.refresh_milestones(MORE_INVOLVED_AT)
        return await report_in(store, config, name, Window(None, None), tr)


def _numbers(built: Report) -> list[list[object]]:
    return sorted(row[1:] if isinstance(row[1], int) else row[2:] for row in built.rows)


async def test_every_report_speaks_the_dashboards_language(
        made: tuple[Config, Expected]) -> None:
    """Time to first task, by project / region / network, travel and retention: titles,
    columns, fixed cells, charts and notes in Spanish; the data as stored; the numbers as in
    English; the name an identifier. The command line's (the default) stay English."""
    config, _ = made
    es = translator("es")
    steps_es = ["empezaron", "proyecto encontrado", "taller terminado", "primera tarea hecha",
                "involucrados", "dijeron que sí a un evento"]
    counted = "Contadas: las personas que escribieron !start por primera vez"

    first, first_en = await _in(config, "time-to-first-task", es), await report(
        config, "time-to-first-task")
    assert first.name == first_en.name == "time-to-first-task"
    assert (first.title, first_en.title) == ("Tiempo hasta la primera tarea",
                                             "Time to first task")
    assert first.columns == ["por", "grupo", "personas", "mediana de días", "días (p90)"]
    assert first_en.columns == ["by", "group", "people", "median days", "p90 days"]
    assert {row[0] for row in first.rows} == {"proyecto", "región", "todos"}
    assert {row[0] for row in first_en.rows} == {"project", "region", "all"}
    assert {row[1] for row in first.rows if row[0] == "proyecto"} == {
        row[1] for row in first_en.rows if row[0] == "project"}  # project names as stored
    assert _numbers(first) == _numbers(first_en)
    assert first.chart is not None
    assert first_en.chart is not None
    assert (first.chart.title, first.chart.xlabel, first.chart.ylabel) == (
        "Días desde !start hasta la primera tarea hecha, por proyecto", "proyecto", "días")
    assert list(first.chart.series) == ["mediana", "percentil 90"]
    assert (first_en.chart.title, list(first_en.chart.series)) == (
        "Days from !start to the first task done, per project", ["median", "90th percentile"])
    assert first.notes[-1].startswith(counted)

    for name, title, column, title_en, nameless, nameless_en in (
            ("projects", "Por proyecto", "proyecto", "By project", "(sin proyecto)",
             "(no project)"),
            ("regions", "Por región", "región", "By region", "(sin región)", "(no region)"),
            ("networks", "Por red", "red", "By network", "(sin red)", "(no network)")):
        by, by_en = await _in(config, name, es), await report(config, name)
        assert by.name == by_en.name == name
        assert (by.title, by_en.title) == (title, title_en)
        assert by.columns == [column, *steps_es]
        assert by_en.columns == [name[:-1], *(label for _, label in STEPS)]
        assert nameless_en not in {row[0] for row in by.rows}
        # Some people have no project or region yet; everyone writes on some network.
        assert (nameless in {row[0] for row in by.rows}) == (
            nameless_en in {row[0] for row in by_en.rows}) == (name != "networks")
        assert _numbers(by) == _numbers(by_en)
        assert by.chart is not None
        assert by_en.chart is not None
        assert by.chart.title == f"Personas por {column}: empezaron y primera tarea hecha"
        assert (by.chart.xlabel, by.chart.ylabel) == (column, "personas")
        assert list(by.chart.series) == ["empezaron", "primera tarea hecha"]
        assert by_en.chart.title == f"People per {name[:-1]}: started and first task done"
        assert list(by_en.chart.series) == ["started", "first task done"]
        assert by.notes[-1].startswith(counted)
    projects = await _in(config, "projects", es)
    assert projects.notes[0] == "Proyecto: el que cada persona tiene elegido ahora."
    networks = await _in(config, "networks", es)
    assert networks.notes[0] == (
        "Una persona con cuentas en varias redes cuenta en cada una de ellas.")
    assert {row[0] for row in networks.rows} == {"irc", "matrix", "telegram"}

    travel, travel_en = await _in(config, "travel", es), await report(config, "travel")
    assert travel.name == "travel"
    assert (travel.title, travel_en.title) == ("Ayuda para viajes", "Travel support")
    assert travel.columns == ["región", "persona", "cuenta", "superó la etapa 4 el",
                              "tareas hechas", "certificados", "eventos (sí)",
                              "eventos con asistencia"]
    assert travel_en.columns == ["region", "person", "account", "through stage 4 on",
                                 "tasks done", "certificates", "events (yes)",
                                 "events attended"]
    assert [row[1:] for row in travel.rows] == [row[1:] for row in travel_en.rows]
    assert travel.chart is not None
    assert travel_en.chart is not None
    assert travel.chart.title == "Ayuda para viajes: etapas 1-4 superadas, por región"
    assert travel_en.chart.title == "Travel support: through stages 1-4, per region"
    assert travel.notes[0] == ("Superaron las etapas 1-4 ([reports] travel_through_stage = "
                               "4: involucrados).")
    assert travel_en.notes[0] == ("Made it through stages 1-4 ([reports] "
                                  "travel_through_stage = 4: involved).")

    kept, kept_en = await _in(config, "retention", es), await report(config, "retention")
    assert kept.name == "retention"
    assert (kept.title, kept_en.title) == ("Retención tras la primera tarea",
                                           "Retention after the first task")
    assert kept.columns == ["primera tarea en", "personas", "medidos (forja vinculada)",
                            "3 meses después", "siguen contribuyendo", "proporción",
                            "6 meses después", "siguen contribuyendo", "proporción"]
    assert kept.rows[-1][0] == "todos"
    assert kept_en.rows[-1][0] == "all"
    assert [row[1:] for row in kept.rows] == [row[1:] for row in kept_en.rows]
    assert kept.chart is not None
    assert kept_en.chart is not None
    assert list(kept.chart.series) == ["3 meses después", "6 meses después"]
    assert (kept.chart.title, kept.chart.xlabel, kept.chart.ylabel) == (
        "Siguen contribuyendo 3 y 6 meses después de la primera tarea",
        "mes de la primera tarea", "% que sigue contribuyendo")
    assert kept.notes[0].startswith("Medidos: personas con una cuenta de forja verificada")
    assert kept_en.notes[0].startswith("Measured: people with a verified forge account")


@pytest.mark.parametrize("name", REPORTS)
async def test_each_chart_is_drawn_with_its_bars_and_labels(
        made: tuple[Config, Expected], name: str, tmp_path: Path) -> None:
    config, _ = made
    built = await report(config, name)
    assert built.chart is not None
    path = tmp_path / f"{name}.svg"
    bars = render_chart(built.chart, path)
    svg = path.read_text(encoding="utf-8")
    assert bars == len(built.chart.labels) * len(built.chart.series)
    assert len(re.findall(r'<g id="bar-\d+-\d+"', svg)) == bars
    texts = set(re.findall(r">([^<>]+)</text>", svg))
    assert built.chart.title in texts
    assert {built.chart.xlabel, built.chart.ylabel} <= texts
    assert set(built.chart.labels) <= texts
    if len(built.chart.series) > 1:
        assert set(built.chart.series) <= texts  # the legend
    # the same report draws the same bytes (no date, a fixed hash salt)
    again = tmp_path / f"{name}-again.svg"
    render_chart(built.chart, again)
    assert again.read_bytes() == path.read_bytes()
    png = tmp_path / f"{name}.png"
    render_chart(built.chart, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_funnel_chart_counts_on_the_bars(made: tuple[Config, Expected],
                                                   tmp_path: Path) -> None:
    config, expected = made
    built = await report(config, "funnel")
    assert built.chart is not None
    path = tmp_path / "funnel.svg"
    render_chart(built.chart, path)
    texts = re.findall(r">([^<>]+)</text>", path.read_text(encoding="utf-8"))
    for key, _ in STEPS:
        assert str(expected.steps[key]) in texts


def test_the_report_command_prints_writes_csv_and_a_chart(
        made: tuple[Config, Expected], tmp_path: Path) -> None:
    config, _expected = made
    from bot.cli import main

    toml = tmp_path / "wayfinder.toml"
    toml.write_text(f'[storage]\nurl = "{config.storage.url}"\n', encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["report", "funnel", "-c", str(toml), "--csv",
                                  str(tmp_path / "f.csv"), "--chart", str(tmp_path / "f.png")])
    assert result.exit_code == 0, result.output
    assert "first task done" in result.output
    assert "Chart written to" in result.output
    assert (tmp_path / "f.csv").read_text(encoding="utf-8").startswith("step,people")
    bad = runner.invoke(main, ["report", "funnel", "-c", str(toml), "--chart",
                               str(tmp_path / "f.gif")])
    assert bad.exit_code == 2
    assert "FILE.svg or FILE.png" in bad.output
    people = runner.invoke(main, ["people", "-c", str(toml), "--project", "lingo",
                                  "--limit", "5"])
    assert people.exit_code == 0, people.output
    assert "People (5, the limit)" in people.output
    shown = runner.invoke(main, ["person", "show", "-c", str(toml), "irc:user3"])
    assert shown.exit_code == 0, shown.output
    assert "Person 3: irc:user3" in shown.output
    short = runner.invoke(main, ["person", "irc:user3", "-c", str(toml)])  # show, implied
    assert short.output == shown.output
    assert "No one matches" not in short.output
    nobody = runner.invoke(main, ["person", "irc:nobody", "-c", str(toml)])
    assert nobody.exit_code == 1
    assert "no one matches 'irc:nobody'" in nobody.output


async def test_the_summary_follows_new_events_merges_and_erasures(db_url: str) -> None:
    config = make_config(db_url)
    async with Harness(config, networks=("irc", "matrix")) as bot:
        await bot.script("ana", ["!start"], network="irc")
        await bot.script("@ana:x", ["!start", "!skip", "!skip", "!skip", "Lingo", "!task",
                                    "!done"], network="matrix")
        await bot.script("bo", ["!start"], network="irc")
        funnel = await report(config, "funnel")
        assert [row[1] for row in funnel.rows[:4]] == [3, 1, 0, 1]
        # linking makes one person of two: counted once, with the steps of both
        code = re.search(r"!link ([A-Z0-9-]+)", await bot.say("ana", "!link", network="irc"))
        assert code is not None
        await bot.say("@ana:x", f"!link {code.group(1)}", network="matrix")
        funnel = await report(config, "funnel")
        assert [row[1] for row in funnel.rows[:4]] == [2, 1, 0, 1]
        # an erased person leaves the reports
        reply = await bot.say("bo", "!forget", network="irc")
        confirm = re.search(r"!forget confirm ([A-Z0-9-]+)", reply)
        assert confirm is not None
        await bot.say("bo", f"!forget confirm {confirm.group(1)}", network="irc")
        funnel = await report(config, "funnel")
        assert funnel.rows[0][1] == 1
