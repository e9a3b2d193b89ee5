"""Mentoring's command line: `wayfinder report mentoring`.

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option, shared_group

if TYPE_CHECKING:
    from datetime import timedelta

    from bot.config import Config
    from flows.mentoring.cases import ReportRow


@runtime_checkable
class MentoringUseCases(Protocol):
    async def mentoring_report(self, config: Config) -> dict[str, list[ReportRow]]: ...


def _span(value: timedelta | None) -> str:
    from bot.durations import describe

    return describe(value) if value is not None else "-"


@click.command("mentoring")
@config_option
@click.pass_obj
def report_mentoring(cli: CliContext, config_path: Path | None) -> None:
    """Help requests per project and per mentor: time to first response, to resolve,
    escalations."""
    from rich.table import Table

    uses: MentoringUseCases = cli.uses(MentoringUseCases)
    groups = cli.run(uses.mentoring_report(cli.load(config_path)))
    for key, title in (("project", "Per project"), ("mentor", "Per mentor")):
        table = Table(title=f"Help requests: {title.lower()}")
        for column in (key, "requests", "claimed", "resolved", "escalated",
                       "median first response", "median time to resolve"):
            table.add_column(column)
        for row in groups[key]:
            table.add_row(row.group, str(row.cases), str(row.claimed), str(row.resolved),
                          str(row.escalated), _span(row.median_first_response),
                          _span(row.median_resolve))
        cli.out().print(table)


def register(main: click.Group) -> None:
    shared_group(main, "report", "Program reports.").add_command(report_mentoring)
