"""Mentoring's command line: `wayfinder report mentoring`.

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, report_options, shared_group

if TYPE_CHECKING:
    from datetime import timedelta

    from bot.config import Config
    from flows.mentoring.cases import ReportRow


@runtime_checkable
class MentoringUseCases(Protocol):
    async def mentoring_report(self, config: Config, since: datetime | None = None,
                               until: datetime | None = None) -> dict[str, list[ReportRow]]: ...

    def mentoring_chart(self, rows: list[ReportRow]) -> Any: ...

    def render_chart(self, chart: Any, path: Path) -> int: ...


def _span(value: timedelta | None) -> str:
    from bot.durations import describe

    return describe(value) if value is not None else "-"


def _day(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


COLUMNS = ("requests", "claimed", "resolved", "escalated", "median first response",
           "median time to resolve")


@click.command("mentoring")
@report_options(since="Help requests opened on or after this day (YYYY-MM-DD).",
                csv="Write both tables as CSV to this file.",
                chart="Draw requests per project as a bar chart: FILE.svg or FILE.png.")
@click.pass_obj
def report_mentoring(cli: CliContext, since: datetime | None, until: datetime | None,
                     csv_path: Path | None, chart_path: Path | None,
                     config_path: Path | None) -> None:
    """Help requests per project and per mentor (mentors who levelled up from newcomers
    apart): time to first response, to resolve, escalations."""
    from rich.table import Table

    if chart_path is not None and chart_path.suffix.lower() not in (".svg", ".png"):
        cli.fail(f"--chart: write FILE.svg or FILE.png, not {chart_path.name}", 2)
    uses: MentoringUseCases = cli.uses(MentoringUseCases)
    groups = cli.run(uses.mentoring_report(cli.load(config_path), _day(since), _day(until)))
    if csv_path is not None:
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(("by", "group", *COLUMNS))
            for key in ("project", "mentor", "levelled-up"):
                writer.writerows((key, r.group, r.cases, r.claimed, r.resolved, r.escalated,
                                  _span(r.median_first_response), _span(r.median_resolve))
                                 for r in groups[key])
    if chart_path is not None:
        uses.render_chart(uses.mentoring_chart(groups["project"]), chart_path)
    for key, title in (("project", "Per project"), ("mentor", "Per mentor"),
                       ("levelled-up", "Per levelled-up mentor")):
        table = Table(title=f"Help requests: {title.lower()}")
        for column in ("mentor" if key == "levelled-up" else key, *COLUMNS):
            table.add_column(column)
        for row in groups[key]:
            table.add_row(row.group, str(row.cases), str(row.claimed), str(row.resolved),
                          str(row.escalated), _span(row.median_first_response),
                          _span(row.median_resolve))
        cli.out().print(table)


def register(main: click.Group) -> None:
    shared_group(main, "report", "Program reports.").add_command(report_mentoring)
