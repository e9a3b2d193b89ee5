"""Privacy's command line: `wayfinder person export WHO` (what `!mydata` sends, for someone
on a network that carries no files).

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option, shared_group

if TYPE_CHECKING:
    from bot.config import Config


@runtime_checkable
class PrivacyUseCases(Protocol):
    async def person_export(self, config: Config, who: str) -> dict[str, Any] | None: ...


@click.command("export")
@click.argument("who")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the JSON here (readable by you only) instead of printing it.")
@config_option
@click.pass_obj
def person_export(cli: CliContext, who: str, output: Path | None,
                  config_path: Path | None) -> None:
    """Everything held about WHO (network:id, e.g. irc:ana, or a person id) as JSON: what
    !mydata sends. Hand it to them privately."""
    import json
    import os

    uses: PrivacyUseCases = cli.uses(PrivacyUseCases)
    data = cli.run(uses.person_export(cli.load(config_path), who))
    if data is None:
        cli.fail(f"No one is known as {who!r} (give network:id, e.g. irc:ana).", 1)
    text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
    if output is None:
        click.echo(text)
        return
    handle = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    click.echo(f"Wrote {output}.", err=True)


def register(main: click.Group) -> None:
    shared_group(main, "person", "One person's data.").add_command(person_export)
