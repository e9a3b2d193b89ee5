"""What a feature's command-line commands get from `wayfinder` (bot/cli.py), so that they live
in the feature's package (flows/<feature>/cli.py) without importing services/ or storage/.

Quick to start: this module and the features' cli modules import only click (and the standard
library); anything heavy is imported inside a command when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

if TYPE_CHECKING:
    from rich.console import Console

    from bot.config import Config

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

Register = Callable[[click.Group], None]  # adds a feature's commands to `wayfinder`


def config_option(func: F) -> F:
    option = click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                          default=None,
                          help="Config file (default: ./wayfinder.toml if present, else "
                               "built-in defaults).")
    return option(func)


DAY = click.DateTime(formats=["%Y-%m-%d"])


def report_options(since: str, csv: str, chart: str) -> Callable[[F], F]:
    """A report's --since/--until (days), --csv FILE and --chart FILE.svg|png, and -c; the
    help of each says what it means for this report."""
    def decorate(func: F) -> F:
        for option in reversed((
                click.option("--since", type=DAY, default=None, help=since),
                click.option("--until", type=DAY, default=None, help="... and before this day."),
                click.option("--csv", "csv_path", type=click.Path(path_type=Path),
                             default=None, help=csv),
                click.option("--chart", "chart_path", type=click.Path(path_type=Path),
                             default=None, help=chart),
                config_option)):
            func = option(func)
        return func
    return decorate


@dataclass(frozen=True)
class CliContext:
    """The click context object (`@click.pass_obj`): the command line's helpers, and the use
    cases of services/, loaded when a command first asks for them."""

    load: Callable[[Path | None], Config]  # the config, or exit 2 naming file and key
    run_coroutine: Callable[[Coroutine[Any, Any, Any]], Any]  # errors become messages
    fail: Callable[[str, int], NoReturn]
    out: Callable[[], Console]
    use_cases: Callable[[], object]  # imports services/ on first use

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return cast(T, self.run_coroutine(coro))

    def uses(self, needs: Any) -> Any:
        """The use cases, checked against what a feature needs: a runtime-checkable Protocol
        declared in its cli module (mypy checks services/use_cases.py against each one in
        tests/test_cli.py; a protocol cannot be typed as type[P])."""
        found = self.use_cases()
        if not isinstance(found, needs):
            raise TypeError(f"the services lack what {needs.__name__} declares")
        return found


def shared_group(main: click.Group, name: str, help_text: str) -> click.Group:
    """A group several features may add to (e.g. `wayfinder report`): the first makes it."""
    found = main.commands.get(name)
    if found is None:
        found = click.Group(name, help=help_text)
        main.add_command(found)
    if not isinstance(found, click.Group):
        raise ValueError(f"`wayfinder {name}` is a command, not a group")
    return found
