"""The program's view of its people: the people list, one person's record, and the reports
(funnel, cohorts, time to first task, projects, regions, networks, travel, retention), each a
table
that the command line prints, exports as CSV or draws (services/charts.py); the web dashboard
calls the same functions."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.charts import Chart
from bot.config import Config
from bot.content import Content
from bot.i18n import ENGLISH, N_, Translator
from bot.wiring import load_content
from flows.crm.profile import (
    PersonRecord,
    person_record,
    record_lines,
    row_stage,
    stage_where,
)
from flows.crm.records import STEPS, PeopleFilter, PersonRow, Window
from flows.crm.settings import ReportsConfig
from flows.forge.api import METRICS, ForgeLink
from flows.path.api import MORE_INVOLVED_AT
from services.store import maintenance_store

REPORTS = ("funnel", "cohorts", "time-to-first-task", "projects", "regions", "networks",
           "travel", "retention")
# Retention: still contributing this many weeks after the first task (about 3 and 6 months),
# judged by the forges' numbers over their last 4 weeks.
RETENTION_MONTHS = (3, 6)  # as the report says them
RETENTION_WEEKS = tuple(13 * months // 3 for months in RETENTION_MONTHS)  # 13 and 26
COHORT_WEEKS = (1, 4, 12)
# What "made it through stage N" means, as a step of the funnel (travel_through_stage).
THROUGH_STAGE = {1: "project", 2: "workshop", 3: "first_task", 4: "involved"}
LABELS = dict(STEPS)
# A report's builder: on a store, for a window, in a language (its title, columns, chart and
# notes; the data it counts, names and dates, as stored). The command line's: English.
Builder = Callable[[Any, Window, Config, Translator], Any]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([[_cell(v) for v in row] for row in self.rows])
        return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, float):
        return f"{value:.1f}"
    return value


# -- people ---------------------------------------------------------------------------------
async def people(config: Config, stage: str = "", **filters: Any) -> list[dict[str, Any]]:
    """People matching the filters (PeopleFilter's fields), each with their stage; `stage` (a
    number 1-5) keeps only those at that stage of the path."""
    content = load_content(config.content_path())
    async with maintenance_store(config) as store:
        await store.refresh_milestones(MORE_INVOLVED_AT)
        return await people_in(store, content, PeopleFilter(**filters), stage)


async def people_in(store: Any, content: Content, wanted: PeopleFilter,
                    stage: str = "") -> list[dict[str, Any]]:
    """`people` on an open store (the web's), its milestones brought up to date already.
    `stage` (a number 1-5) is selected in SQL, so only the rows returned are read; a stage
    that does not exist has nobody."""
    if stage:
        where = stage_where(stage, content)
        if where is None:
            return []
        wanted = replace(wanted, stage=where)
    return [person_line(row, row_stage(row, content)) for row in await store.people(wanted)]


def person_line(row: PersonRow, stage: str) -> dict[str, Any]:
    """One person of the people list, as the CLI and the web show it."""
    return {"id": int(row.person_id), "accounts": " ".join(row.identities),
            "project": row.project, "stage": stage, "region": row.region,
            "cohort": row.cohort, "first_seen": row.first_seen, "last_seen": row.last_seen}


def people_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = ["id", "accounts", "project", "stage", "region", "cohort", "first_seen",
               "last_seen"]
    writer.writerow(columns)
    writer.writerows([[_cell(row[c]) if row[c] is not None else "" for c in columns]
                      for row in rows])
    return out.getvalue()


def people_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: _cell(v) for k, v in row.items()} for row in rows], indent=2,
                      ensure_ascii=False)


async def person_lines(config: Config, text: str,
                       now: datetime) -> list[str] | list[tuple[int, str]]:
    """One person's record as lines; several matches: (id, accounts) for each; none: []."""
    found = await person(config, text)
    return record_lines(found, now) if isinstance(found, PersonRecord) else found


async def person(config: Config, text: str) -> PersonRecord | list[tuple[int, str]]:
    """One person's record; several matches: (id, accounts) for each; none: []."""
    content = load_content(config.content_path())
    async with maintenance_store(config) as store:
        found = await store.find_people(text, 11)
        if len(found) != 1:
            return [(int(p), ", ".join(i.key for i in await store.identities(p)))
                    for p in found]
        facts = await store.person_facts(found[0])
    if facts is None:
        return []
    return person_record(facts, content)


# -- reports --------------------------------------------------------------------------------
def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of sorted `values` (share in 0..1)."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _window_note(window: Window, tr: Translator = ENGLISH) -> str:
    since = f"{window.since:%Y-%m-%d}" if window.since else tr.t("the beginning")
    until = f"{window.until:%Y-%m-%d}" if window.until else tr.t("now")
    return tr.t("Counted: people who first typed !start from {since} until {until}.",
                since=since, until=until)


async def report(config: Config, name: str, since: datetime | None = None,
                 until: datetime | None = None) -> Report:
    """One of REPORTS, for the people whose first !start is in [since, until)."""
    if name not in BUILDERS:
        raise ValueError(f"no report {name!r}; reports: {', '.join(REPORTS)}")
    async with maintenance_store(config) as store:
        await store.refresh_milestones(MORE_INVOLVED_AT)
        return await report_in(store, config, name, Window(since, until))


async def report_in(store: Any, config: Config, name: str, window: Window,
                    tr: Translator = ENGLISH) -> Report:
    """`report` on an open store (the web's), its milestones brought up to date already,
    in `tr`'s language (the command line's: English)."""
    built: Report = await BUILDERS[name](store, window, config, tr)
    built.notes.append(_window_note(window, tr))
    if built.chart is not None:
        # Translators: the one bar label of a chart with no group to draw (no one counted).
        built = replace(built, chart=replace(built.chart, empty=tr.t("(no one)")))
    return built


async def _funnel(store: Any, window: Window, config: Config,
                  tr: Translator = ENGLISH) -> Report:
    counts = {step: n for _, step, n in await store.step_counts(window)}
    started = counts.get("started", 0)
    rows: list[list[Any]] = []
    previous: int | None = None
    for key, label in STEPS:
        n = counts.get(key, 0)
        drop = "" if previous is None else (
            f"{_pct(previous - n, previous)}%" if previous else "")
        rows.append([tr.t(label), n, f"{_pct(n, started)}%", drop])
        previous = n
    people = tr.t("people")
    chart = Chart(tr.t("Funnel: how far newcomers get"), tr.t("step of the path"), people,
                  [tr.t(label) for _, label in STEPS], {people: [float(r[1]) for r in rows]})
    return Report("funnel", tr.t("Funnel"), [tr.t("step"), people, tr.t("of started"),
                                             tr.t("drop-off from previous")],
                  rows, chart, [tr.t("Involved: {n} tasks done (stage 5 opens).",
                                     n=MORE_INVOLVED_AT)])


async def _cohorts(store: Any, window: Window, config: Config,
                   tr: Translator = ENGLISH) -> Report:
    sizes, rows = await store.cohort_counts(window, COHORT_WEEKS)
    reached = {(month, step): within for month, step, within in rows}
    table: list[list[Any]] = []
    months = sorted(sizes)
    for month in months:
        for key, label in STEPS[1:]:
            within = reached.get((month, key), [0] * len(COHORT_WEEKS))
            table.append([month, sizes[month], tr.t(label),
                          *(f"{_pct(n, sizes[month])}%" for n in within)])
    series = {tr.tn("within {n} week", "within {n} weeks", w): [
        _pct(reached.get((m, "first_task"), [0] * len(COHORT_WEEKS))[i], sizes[m])
        for m in months] for i, w in enumerate(COHORT_WEEKS)}
    chart = Chart(tr.t("Cohorts: share with a first task done"),
                  tr.t("cohort (month of first !start)"), tr.t("% of the cohort"), months,
                  series, unit="%")
    return Report("cohorts", tr.t("Cohorts"), [
        tr.t("cohort"), tr.t("people"), tr.t("step"),
        *(tr.t("within {n} wk", n=w) for w in COHORT_WEEKS)], table, chart)


async def _first_task(store: Any, window: Window, config: Config,
                      tr: Translator = ENGLISH) -> Report:
    found = await store.first_task_days(window)
    rows: list[list[Any]] = []
    per_project: dict[str, list[float]] = {}
    per_region: dict[str, list[float]] = {}
    no_region = tr.t("(none given)")
    for project, region, days in found:
        per_project.setdefault(project, []).append(days)
        per_region.setdefault(region or no_region, []).append(days)
    for by, groups in ((tr.t("project"), per_project), (tr.t("region"), per_region)):
        for group in sorted(groups):
            values = sorted(groups[group])
            rows.append([by, group, len(values), round(percentile(values, 0.5), 1),
                         round(percentile(values, 0.9), 1)])
    everyone = sorted(d for _, _, d in found)
    if everyone:
        # Translators: a row of a table, every group together (the others: one project each,
        # one region each).
        rows.append([tr.t("all"), "", len(everyone), round(percentile(everyone, 0.5), 1),
                     round(percentile(everyone, 0.9), 1)])
    projects = sorted(per_project)
    chart = Chart(tr.t("Days from !start to the first task done, per project"), tr.t("project"),
                  tr.t("days"), projects,
                  {tr.t("median"): [percentile(sorted(per_project[p]), 0.5) for p in projects],
                   tr.t("90th percentile"): [percentile(sorted(per_project[p]), 0.9)
                                             for p in projects]}, unit=" d")
    # Translators: the columns of "Time to first task": grouped by (project or region), the
    # group, how many people, the median and the 90th percentile of their days.
    columns = [tr.t("by"), tr.t("group"), tr.t("people"), tr.t("median days"),
               tr.t("p90 days")]
    return Report("time-to-first-task", tr.t("Time to first task"), columns, rows, chart)


# Each grouping's texts (message ids): its title, its column and axis, its chart's title,
# and the group of people without one (its own words in each grouping: one "(none)" took the
# masculine in Spanish and Portuguese, where region and network are feminine).
BY_TEXTS = {
    "project": (N_("By project"), N_("project"),
                N_("People per project: started and first task done"), N_("(no project)")),
    "region": (N_("By region"), N_("region"),
               N_("People per region: started and first task done"), N_("(no region)")),
    "network": (N_("By network"), N_("network"),
                N_("People per network: started and first task done"), N_("(no network)")),
}


def _by(by: str) -> Builder:
    title, column, chart_title, nameless = BY_TEXTS[by]

    async def build(store: Any, window: Window, config: Config,
                    tr: Translator = ENGLISH) -> Report:
        counts: dict[str, dict[str, int]] = {}
        none = tr.t(nameless)
        for group, step, n in await store.step_counts(window, by=by):
            counts.setdefault(group or none, {})[step] = n
        groups = sorted(counts, key=lambda g: (-counts[g].get("started", 0), g))
        rows = [[g, *(counts[g].get(key, 0) for key, _ in STEPS)] for g in groups]
        chart = Chart(tr.t(chart_title), tr.t(column), tr.t("people"), groups,
                      {tr.t(LABELS["started"]): [float(counts[g].get("started", 0))
                                                 for g in groups],
                       tr.t(LABELS["first_task"]): [float(counts[g].get("first_task", 0))
                                                    for g in groups]})
        notes = []
        if by == "network":
            notes.append(tr.t("A person with accounts on several networks counts under each."))
        if by == "project":
            notes.append(tr.t("Project: the one each person has chosen now."))
        return Report(f"{by}s", tr.t(title), [tr.t(column), *(tr.t(label) for _, label in STEPS)],
                      rows, chart, notes)
    return build


async def _travel(store: Any, window: Window, config: Config,
                  tr: Translator = ENGLISH) -> Report:
    through = config.settings_of(ReportsConfig).travel_through_stage
    step = THROUGH_STAGE[through]
    found = await store.travel_candidates(window, step)
    no_region = tr.t("(none given)")
    rows = [[p["region"] or no_region, p["person"], p["identity"], p["reached_at"],
             p["tasks_done"], p["certificates"], p["events"], p["attended"]] for p in found]
    per_region: dict[str, int] = {}
    for row in rows:
        per_region[row[0]] = per_region.get(row[0], 0) + 1
    regions = sorted(per_region, key=lambda r: (-per_region[r], r))
    people = tr.t("people")
    chart = Chart(tr.t("Travel support: through stages 1-{stage}, per region", stage=through),
                  tr.t("region"), people, regions,
                  {people: [float(per_region[r]) for r in regions]})
    return Report("travel", tr.t("Travel support"),
                  [tr.t("region"), tr.t("person"), tr.t("account"),
                   tr.t("through stage {stage} on", stage=through), tr.t("tasks done"),
                   tr.t("certificates"), tr.t("events (yes)"), tr.t("events attended")], rows,
                  chart,
                  # Translators: keep "[reports] travel_through_stage" as it is: the setting
                  # of the configuration file; {step} is a step of the funnel.
                  [tr.t("Made it through stages 1-{stage} ([reports] travel_through_stage = "
                        "{stage}: {step}).", stage=through, step=tr.t(LABELS[step]))])


def _active(link: ForgeLink) -> bool:
    """Any change merged, review given or task closed in the 4 weeks before the last read."""
    return any(link.count(metric, 4) for metric in METRICS)


async def _retention(store: Any, window: Window, config: Config,
                     tr: Translator = ENGLISH) -> Report:
    """Who keeps contributing 3 and 6 months after their first task: of the people whose
    first task is at least 13 (26) weeks old when their forges were last read, those with
    any contribution there in the last 4 weeks. Only verified forge links with numbers count
    (the same numbers `!me` shows); people without one are not measured."""
    links: dict[int, list[ForgeLink]] = {}
    for link in await store.forge_activity():
        if link.metrics_at is not None:
            links.setdefault(int(link.person_id), []).append(link)
    # month of the first task -> [people, measured, then per mark: that far on, still at it]
    groups = {month: [n, 0] + [0, 0] * len(RETENTION_WEEKS)
              for month, n in (await store.first_task_months(window)).items()}
    for person, first in await store.first_tasks(window, sorted(links)):
        row = groups.get(f"{first:%Y-%m}")
        if row is None:  # a first task done since the months were counted
            continue
        read = links[person]
        row[1] += 1
        as_of = max(k.metrics_at for k in read if k.metrics_at is not None)
        active = any(_active(k) for k in read)
        for n, weeks in enumerate(RETENTION_WEEKS):
            if as_of - first >= timedelta(weeks=weeks):
                row[2 + 2 * n] += 1
                row[3 + 2 * n] += int(active)
    months = sorted(groups)
    rows: list[list[Any]] = []
    totals = [0] * (2 + 2 * len(RETENTION_WEEKS))
    for month in months:
        values = groups[month]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        rows.append([month, *_retention_cells(values)])
    if months:
        # Translators: a row of a table, every month together.
        rows.append([tr.t("all"), *_retention_cells(totals)])
    # Translators: N months after the first task.
    marks = [tr.tn("{n} month on", "{n} months on", n) for n in RETENTION_MONTHS]
    # No bar (NaN) where no one is that far on yet: 0% would say they all stopped.
    series = {mark: [_pct(groups[m][3 + 2 * n], groups[m][2 + 2 * n])
                     if groups[m][2 + 2 * n] else math.nan for m in months]
              for n, mark in enumerate(marks)}
    chart = Chart(tr.t("Still contributing 3 and 6 months after the first task"),
                  tr.t("month of the first task"), tr.t("% still contributing"), months,
                  series, unit="%")
    columns = [tr.t("first task in"), tr.t("people"), tr.t("measured (forge linked)")]
    for mark in marks:
        columns += [mark, tr.t("still contributing"), tr.t("share")]
    return Report("retention", tr.t("Retention after the first task"), columns, rows, chart, [
        tr.t("Measured: people with a verified forge account (!forge) whose numbers were "
             "read. N months on: their first task is at least 13 (26) weeks older than that "
             "read; still contributing: a change merged, a review given or a task closed on "
             "a linked forge in the 4 weeks before it (the numbers !me shows).")])


def _retention_cells(values: list[int]) -> list[Any]:
    cells: list[Any] = [values[0], values[1]]
    for n in range(len(RETENTION_WEEKS)):
        of, still = values[2 + 2 * n], values[3 + 2 * n]
        cells += [of, still, f"{_pct(still, of)}%" if of else ""]
    return cells


def mentoring_chart(rows: Sequence[Any]) -> Chart:
    """Help requests per project (mentoring's ReportRow): opened, claimed, resolved."""
    groups = [row.group for row in rows]
    return Chart("Help requests per project", "project", "help requests", groups,
                 {"opened": [float(r.cases) for r in rows],
                  "claimed": [float(r.claimed) for r in rows],
                  "resolved": [float(r.resolved) for r in rows]})


BUILDERS: dict[str, Builder] = {
    "funnel": _funnel, "cohorts": _cohorts, "time-to-first-task": _first_task,
    "projects": _by("project"), "regions": _by("region"), "networks": _by("network"),
    "travel": _travel, "retention": _retention}
