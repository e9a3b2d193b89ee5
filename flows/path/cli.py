"""The path's command line: `wayfinder certificate verify` (workshop certificates).

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option, shared_group

if TYPE_CHECKING:
    from bot.config import Config
    from flows.path.records import Certificate


@runtime_checkable
class PathUseCases(Protocol):
    async def verify_certificate(self, config: Config, code: str) -> Certificate | None: ...


@click.command("verify")
@click.argument("code")
@config_option
@click.pass_obj
def certificate_verify(cli: CliContext, code: str, config_path: Path | None) -> None:
    """Show whose certificate CODE is, for which workshop, and when it was issued."""
    from rich.table import Table

    uses: PathUseCases = cli.uses(PathUseCases)
    found = cli.run(uses.verify_certificate(cli.load(config_path), code))
    if found is None:
        cli.fail(f"no certificate with code {code!r}: check the code for typos", 1)
    table = Table(title=f"Certificate {found.code}: valid")
    table.add_column("field")
    table.add_column("value")
    table.add_row("holder", found.holder)
    table.add_row("workshop", f"{found.workshop_title} ({found.workshop_id})")
    table.add_row("issued", found.issued_at.strftime("%Y-%m-%d %H:%M UTC"))
    cli.out().print(table)


def register(main: click.Group) -> None:
    shared_group(main, "certificate", "Workshop certificates.").add_command(certificate_verify)
