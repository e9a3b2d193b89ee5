"""The CRM's command line: `wayfinder people`, `wayfinder person show`, and `wayfinder report
funnel|cohorts|time-to-first-task|projects|regions|networks|travel|retention`.

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option, report_options, shared_group

if TYPE_CHECKING:
    from bot.config import Config

REPORT_NAMES = ("funnel", "cohorts", "time-to-first-task", "projects", "regions", "networks",
                "travel", "retention")


@runtime_checkable
class CrmUseCases(Protocol):
    async def people(self, config: Config, stage: str = "",
                     **wanted: Any) -> list[dict[str, Any]]: ...

    def people_csv(self, rows: list[dict[str, Any]]) -> str: ...

    def people_json(self, rows: list[dict[str, Any]]) -> str: ...

    async def person_lines(self, config: Config, text: str,
                           now: datetime) -> list[str] | list[tuple[int, str]]: ...

    # A services.crm.Report: name, title, columns, rows, chart, notes and csv().
    async def report(self, config: Config, name: str, since: datetime | None = None,
                     until: datetime | None = None) -> Any: ...

    def render_chart(self, chart: Any, path: Path) -> int: ...


def _day(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "never"


SHOWN = 200  # rows of a report printed (a table of 20,000 takes Rich seconds); CSV has all


@click.command("people")
@click.option("--project", default="", help="Project id (the one chosen now).")
@click.option("--stage", type=click.Choice(["1", "2", "3", "4", "5"]), default=None,
              help="Stage of the path, 1-5.")
@click.option("--region", default="", help="Region code, as people chose it.")
@click.option("--cohort", default="", metavar="YYYY-MM", help="Month of the first !start.")
@click.option("--network", default="", help="Has an account on this network.")
@click.option("--active-within", "active_within", type=int, default=None, metavar="DAYS",
              help="Last seen within DAYS days.")
@click.option("--inactive-for", "inactive_for", type=int, default=None, metavar="DAYS",
              help="Not seen for DAYS days or more.")
@click.option("--limit", type=int, default=1000, show_default=True)
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Write the list as CSV to this file.")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Write the list as JSON to this file.")
@config_option
@click.pass_obj
def people(cli: CliContext, project: str, stage: str | None, region: str, cohort: str,
           network: str, active_within: int | None, inactive_for: int | None, limit: int,
           csv_path: Path | None, json_path: Path | None, config_path: Path | None) -> None:
    """Search people: by project, stage, region, cohort, network and last activity."""
    from rich.table import Table
    from rich.text import Text

    uses: CrmUseCases = cli.uses(CrmUseCases)
    now = datetime.now(UTC)
    rows = cli.run(uses.people(
        cli.load(config_path), stage or "", project=project, region=region, cohort=cohort,
        network=network,
        active_since=now - timedelta(days=active_within) if active_within is not None
        else None,
        inactive_since=now - timedelta(days=inactive_for) if inactive_for is not None
        else None, limit=limit))
    if csv_path is not None:
        csv_path.write_text(uses.people_csv(rows), encoding="utf-8")
    if json_path is not None:
        json_path.write_text(uses.people_json(rows), encoding="utf-8")
    if csv_path is not None or json_path is not None:
        click.echo(f"{len(rows)} people written to "
                   f"{', '.join(str(p) for p in (csv_path, json_path) if p is not None)}")
        return
    table = Table(title=f"People ({len(rows)}{', the limit' if len(rows) == limit else ''})")
    for column in ("id", "accounts", "project", "stage", "region", "cohort", "last seen"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(str(v)) for v in (
            row["id"], row["accounts"], row["project"] or "-", row["stage"],
            row["region"] or "-", row["cohort"] or "-", _when(row["last_seen"]))))
    cli.out().print(table)


@click.command("show")
@click.argument("who")
@config_option
@click.pass_obj
def person_show(cli: CliContext, who: str, config_path: Path | None) -> None:
    """One person's record, by id or account (network:id, or part of an id)."""
    uses: CrmUseCases = cli.uses(CrmUseCases)
    found = cli.run(uses.person_lines(cli.load(config_path), who, datetime.now(UTC)))
    if not found:
        cli.fail(f"no one matches {who!r}: try a person id or an account such as irc:ada", 1)
    if isinstance(found[0], tuple):
        click.echo(f"{len(found)} people match {who!r}; ask again with one of the ids:")
        for pid, accounts in found:
            click.echo(f"  {pid}: {accounts}")
        return
    for line in found:
        click.echo(line)


def _report_command(name: str) -> click.Command:
    @click.command(name)
    @report_options(since="People who first typed !start on or after this day (YYYY-MM-DD).",
                    csv="Write the table as CSV to this file.",
                    chart="Draw it as a bar chart: FILE.svg or FILE.png.")
    @click.pass_obj
    def command(cli: CliContext, since: datetime | None, until: datetime | None,
                csv_path: Path | None, chart_path: Path | None,
                config_path: Path | None) -> None:
        from rich.table import Table
        from rich.text import Text

        if chart_path is not None and chart_path.suffix.lower() not in (".svg", ".png"):
            cli.fail(f"--chart: write FILE.svg or FILE.png, not {chart_path.name}", 2)
        uses: CrmUseCases = cli.uses(CrmUseCases)
        built = cli.run(uses.report(cli.load(config_path), name, _day(since), _day(until)))
        table = Table(title=built.title)
        for column in built.columns:
            table.add_column(column)
        for row in built.rows[:SHOWN]:
            table.add_row(*(Text(_when(v) if isinstance(v, datetime) else str(v))
                            for v in row))
        cli.out().print(table)
        if len(built.rows) > SHOWN:
            click.echo(f"{len(built.rows) - SHOWN} more rows: --csv FILE writes them all.")
        for note in built.notes:
            click.echo(note)
        if csv_path is not None:
            csv_path.write_text(built.csv(), encoding="utf-8")
            click.echo(f"CSV written to {csv_path}")
        if chart_path is not None and built.chart is not None:
            bars = uses.render_chart(built.chart, chart_path)
            click.echo(f"Chart written to {chart_path} ({bars} bars)")

    command.help = {
        "funnel": "Counts at each step of the path, with the drop-off between steps.",
        "cohorts": "By month of first !start: the share reaching each step within 1, 4 and "
                   "12 weeks.",
        "time-to-first-task": "Days from !start to the first task done: median and p90, per "
                              "project and per region.",
        "projects": "People at each step, per project.",
        "regions": "People at each step, per region.",
        "networks": "People at each step, per network.",
        "travel": "Travel support: who made it through stages 1-4 (configurable), by region, "
                  "with their merit.",
        "retention": "Who keeps contributing 3 and 6 months after their first task, from "
                     "the linked forges' numbers (!forge).",
    }[name]
    return command


def register(main: click.Group) -> None:
    main.add_command(people)
    group = shared_group(main, "person", "One person's data.")
    group.add_command(person_show)
    resolve = group.resolve_command

    def show_by_default(ctx: click.Context, args: list[str]) -> Any:
        """`wayfinder person WHO` is `wayfinder person show WHO` (WHO names no sub-command)."""
        if args and args[0] not in group.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return resolve(ctx, args)

    setattr(group, "resolve_command", show_by_default)  # noqa: B010 (this group only)
    report = shared_group(main, "report", "Program reports.")
    for name in REPORT_NAMES:
        report.add_command(_report_command(name))
