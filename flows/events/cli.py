"""Events' command line: `wayfinder broadcast EVENT` (preview, confirm, watch delivery).

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option

if TYPE_CHECKING:
    from bot.config import Config
    from flows.events.records import Broadcast, DeliveryCounts, Event

WATCH_SECONDS = 0.5


class Preview(Protocol):
    @property
    def event(self) -> Event: ...
    @property
    def send_at(self) -> datetime | None: ...
    @property
    def lines(self) -> list[str]: ...
    @property
    def reach(self) -> int: ...


@runtime_checkable
class EventsUseCases(Protocol):
    async def broadcast_preview(self, config: Config, event_id: str,
                                local_at: datetime | None,
                                including: tuple[str, ...] = ()) -> Preview: ...

    async def broadcast_now(self, config: Config, event: Event, send_at: datetime | None,
                            by: str, including: tuple[str, ...] = ()
                            ) -> tuple[Broadcast, int]: ...

    async def delivery_of(self, config: Config, broadcast_id: int) -> DeliveryCounts: ...

    async def buddy_pairs(self, config: Config, event_id: str) -> list[tuple[str, str]]: ...


@click.command("broadcast")
@click.argument("event_id", metavar="EVENT")
@click.option("--at", "at_text", default="", metavar="'YYYY-MM-DD HH:MM'",
              help="Send later: a time in the event's time zone (default: now).")
@click.option("--yes", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-wait", is_flag=True, help="Queue and exit; do not watch delivery.")
@click.option("--including", type=click.Choice(["maybe", "no", "yes", "answered"]),
              default=None, help="Invite again those who gave this answer (answered: all); "
              "by default people who answered are skipped.")
@config_option
@click.pass_obj
def broadcast(cli: CliContext, event_id: str, at_text: str, assume_yes: bool, no_wait: bool,
              including: str | None, config_path: Path | None) -> None:
    """Preview an event's invite, then (after you confirm) queue it for the running bot.

    The bot (`wayfinder run`) delivers from the durable outbox; this command shows a
    progress bar meanwhile. Ctrl-C stops watching, not the delivery."""
    uses: EventsUseCases = cli.uses(EventsUseCases)
    config = cli.load(config_path)
    local_at = _parse_at(cli, at_text) if at_text else None
    again: tuple[str, ...] = (() if including is None else
                              ("yes", "no", "maybe") if including == "answered" else (including,))
    preview = cli.run(uses.broadcast_preview(config, event_id.lower(), local_at, again))
    cli.out().print("\n".join(preview.lines), markup=False, highlight=False)
    if not preview.reach:
        sys.exit(1)
    if not assume_yes and not click.confirm("Send it?", default=False):
        cli.out().print("Nothing was sent.")
        return
    import getpass  # who sends it; not loaded by `wayfinder run`

    invite, queued = cli.run(uses.broadcast_now(config, preview.event, preview.send_at,
                                                f"cli:{getpass.getuser()}", again))
    if invite.status == "scheduled" and not queued:
        cli.out().print(f"Scheduled (broadcast #{invite.id}). The running bot sends it when "
                        "due.")
        return
    cli.out().print(f"Queued {queued} invites (broadcast #{invite.id}); the running bot "
                    "delivers them.")
    if not no_wait and queued:
        _watch(cli, uses, config, invite.id, queued)


def _parse_at(cli: CliContext, text: str) -> datetime:
    try:
        local = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        cli.fail(f"--at {text!r}: write it like '2027-01-20 18:00' (the event's time zone)", 2)
    return local.replace(tzinfo=None)


def _watch(cli: CliContext, uses: EventsUseCases, config: Config, broadcast_id: int,
           total: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    async def watch() -> None:
        last, still = -1, 0.0
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=cli.out()) as progress:
            task = progress.add_task("delivering", total=total)
            while True:
                counts = await uses.delivery_of(config, broadcast_id)
                done = sum(counts.count(s) for s in ("sent", "dead", "unknown", "deferred"))
                progress.update(task, completed=done, description=(
                    f"sent {counts.count('sent')}, deferred {counts.count('deferred')}, "
                    f"failed {counts.count('dead')}, unknown {counts.count('unknown')}"))
                if done >= total:
                    return
                still = 0.0 if done != last else still + WATCH_SECONDS
                last = done
                if still >= 10:
                    progress.console.print("No progress for 10 s: is `wayfinder run` running? "
                                           "The invites wait in the outbox until it is.")
                    still = -3600.0  # say it once
                await asyncio.sleep(WATCH_SECONDS)

    try:
        cli.run(watch())
    except KeyboardInterrupt:
        cli.out().print("Stopped watching; delivery goes on in the bot.")


@click.command("buddies")
@click.argument("event_id", metavar="EVENT")
@config_option
@click.pass_obj
def buddies(cli: CliContext, event_id: str, config_path: Path | None) -> None:
    """Who is whose buddy at an event: first-timers with the experienced attendee they were
    introduced to (a week before), those still waiting, and free volunteers."""
    uses: EventsUseCases = cli.uses(EventsUseCases)
    config = cli.load(config_path)
    pairs = cli.run(uses.buddy_pairs(config, event_id.lower()))
    if not pairs:
        cli.out().print(f"No first-timers or buddies for {event_id} yet.")
        return
    for newcomer, buddy in pairs:
        line = (f"{newcomer} with buddy {buddy}" if newcomer and buddy else
                f"{newcomer}: first time, no buddy yet" if newcomer else
                f"{buddy}: volunteer, free")
        cli.out().print(line, markup=False, highlight=False)


def register(main: click.Group) -> None:
    main.add_command(broadcast)
    main.add_command(buddies)
