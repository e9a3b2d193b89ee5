"""The tracker's command line: `wayfinder tasks` (each task source: when it was last read,
how many open tasks it gave, why its last attempt failed).

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option

if TYPE_CHECKING:
    from bot.config import Config
    from flows.tracker.records import SourceStanding


@runtime_checkable
class TrackerUseCases(Protocol):
    async def task_sources(self, config: Config) -> list[SourceStanding]: ...


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"


@click.command("tasks")
@config_option
@click.pass_obj
def tasks(cli: CliContext, config_path: Path | None) -> None:
    """Show each project's task sources: last good read, open tasks, the last failure."""
    from rich.markup import escape
    from rich.table import Table

    uses: TrackerUseCases = cli.uses(TrackerUseCases)
    rows = cli.run(uses.task_sources(cli.load(config_path)))
    if not rows:
        cli.out().print("No task sources: projects use their static [[tasks]] only.",
                        markup=False)
        return
    table = Table(title="Task sources")
    for column in ("source", "kind", "last refreshed", "open tasks", "last failure",
                   "next read"):
        table.add_column(column)
    for row in rows:
        failed = f"{row.error} ({_when(row.tried_at)})" if row.error and row.tried_at else (
            row.error or "")
        cells = (row.source_key, row.kind, _when(row.refreshed_at), str(row.open_tasks), failed,
                 _when(row.next_at) if row.next_at else "at the next tick")
        table.add_row(*map(escape, cells))  # a tracker's error text is not markup
    cli.out().print(table)


def register(main: click.Group) -> None:
    main.add_command(tasks)
