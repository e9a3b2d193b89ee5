"""The `wayfinder` command line.

Quick to start: only click is imported up front. The store, the app, the config models, the
network libraries and rich are imported inside the command that uses them, so `--help` and a
mistyped command answer at once (tests/test_startup.py checks what `import bot.cli` loads).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from bot.config import Config

F = TypeVar("F", bound=Callable[..., Any])
WATCH_SECONDS = 0.5


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@cache
def out() -> Console:
    from rich.console import Console

    return Console()


def config_option(func: F) -> F:
    option = click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                          default=None,
                          help="Config file (default: ./wayfinder.toml if present, else "
                               "built-in defaults).")
    return option(func)


def _load(config_path: Path | None) -> Config:
    from bot.config import ConfigError
    from bot.wiring import load_config

    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(f"config error: {exc}")


def _fail(message: str, code: int = 2) -> NoReturn:
    err().print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    sys.exit(code)


def _run(coro: Any) -> Any:
    from bot.config import ConfigError
    from bot.content import ContentError
    from bot.ports import AdapterFatalError, StoreBrokenError

    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    except ContentError as exc:
        _fail("content has problems:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except (AdapterFatalError, StoreBrokenError) as exc:
        _fail(str(exc), code=1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """Wayfinder: guides newcomers from "hello" to their first contribution, in chat."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@config_option
def run(config_path: Path | None) -> None:
    """Run the bot on every adapter enabled in the config (with none, the console)."""
    from bot.app import command_menu, run_app, schema_is_current
    from bot.config import ConfigError
    from bot.wiring import network_adapters

    config = _load(config_path)
    try:
        adapters = network_adapters(config, menu=command_menu())
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    if not _run(schema_is_current(config)):
        _upgrade_in_child(config_path)
    _run(run_app(config, adapters))


def _upgrade_in_child(config_path: Path | None) -> None:
    """Migrate in a child process: alembic (about 8 MB resident) then never loads into the
    long-running bot, which starts on a current schema."""
    import subprocess

    command = [sys.executable, "-m", "bot", "db", "upgrade"]
    if config_path is not None:
        command += ["-c", str(config_path)]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, check=False)
    if done.returncode:
        sys.exit(done.returncode)


@main.command()
@config_option
@click.option("--as", "name", default=None, help="Who you are in the chat (console:NAME).")
@click.option("--room", default="", help="Pretend to be in this channel, e.g. '#pagebot'.")
def chat(config_path: Path | None, name: str | None, room: str) -> None:
    """Talk to the bot in this terminal; reads stdin until end of input."""
    from bot.app import run_app
    from bot.wiring import chat_adapters

    config = _load(config_path)
    _run(run_app(config, chat_adapters(config, name, room)))


@main.command("check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Validate the config file and the secrets it names; print what will run."""
    from rich.table import Table

    from bot.config import ConfigError
    from bot.content import ContentError, load_content
    from bot.wiring import enabled_networks

    config = _load(config_path)
    try:
        config.check_secrets()
        content = load_content(config.content_path())
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    except ContentError as exc:
        _fail("content has problems:\n" + "\n".join(f"  {p}" for p in exc.problems))
    table = Table(title=f"Wayfinder configuration ({config.source})")
    table.add_column("setting")
    table.add_column("value")
    table.add_row("storage.url", config.storage.url)
    table.add_row("content", f"{config.content_path()} ({len(content.projects)} projects, "
                  f"{len(content.workshops)} workshops)")
    table.add_row("adapters", ", ".join(enabled_networks(config)) or "console")
    out().print(table)
    out().print("config OK")


@main.group()
def content() -> None:
    """Community content (projects, workshops, regions)."""


@content.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@config_option
def content_check(path: Path | None, config_path: Path | None) -> None:
    """Validate a content folder, listing every problem with file, key and reason."""
    _checked_content(path or _load(config_path).content_path())


def _checked_content(folder: Path) -> None:
    """Validate `folder`; print what it holds, or every problem and exit 1."""
    from rich.table import Table

    from bot.content import ContentError, load_content

    try:
        loaded = load_content(folder)
    except ContentError as exc:
        table = Table(title=f"{len(exc.problems)} problem(s) in {folder}")
        for column in ("file", "key", "problem"):
            table.add_column(column, overflow="fold")
        for problem in exc.problems:
            table.add_row(problem.file, problem.key or "(file)", problem.reason)
        err().print(table)
        sys.exit(1)
    tasks = sum(len(p.tasks) for p in loaded.projects.values())
    out().print(f"content OK: {len(loaded.projects)} projects, {len(loaded.workshops)} workshops, "
              f"{tasks} tasks, {len(loaded.regions)} regions in {folder}")


@content.command("reload")
@config_option
def content_reload(config_path: Path | None) -> None:
    """Validate the content folder, then have the running bot load it (every process on
    the same database). The bot also reloads by itself when files change, and on SIGHUP."""
    from services.content import request_content_reload

    config = _load(config_path)
    folder = config.content_path()
    _checked_content(folder)
    request = _run(request_content_reload(config, folder, f"cli:{getpass.getuser()}"))
    wait = config.content.watch_seconds
    out().print(f"Reload requested (#{request}): " + (
        f"running bots load it within {wait:g} s." if wait else
        "[content] watch_seconds is 0, so running bots only reload on SIGHUP."), markup=False)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply schema migrations (safe to run again)."""
    from services.store import upgrade_database

    url = _run(upgrade_database(_load(config_path)))
    out().print(f"database at {url} is up to date")


@main.command()
@config_option
@click.option("--limit", default=20, show_default=True, help="Dead letters to list.")
def outbox(config_path: Path | None, limit: int) -> None:
    """Show queued, sent and dead (undeliverable) replies, with the reasons."""
    from rich.table import Table

    from services.reports import due_dead_letters, outbox_report

    config = _load(config_path)
    counts, dead = _run(outbox_report(config))
    out().print("outbox: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                            or "empty"))
    if dead:
        table = Table(title=f"Undelivered or unknown ({len(dead)}, newest last)")
        for column in ("id", "network", "to", "reason"):
            table.add_column(column, overflow="fold")
        for row in dead[-limit:]:
            to = row.body.get("to", {})
            table.add_row(str(row.id), row.network, str(to.get("id", "")), row.last_error)
        out().print(table)
    due_dead = _run(due_dead_letters(config))
    out().print(f"due work dead letters: {len(due_dead) or 'none'}")
    if due_dead:
        table = Table(title=f"Due work dead letters ({len(due_dead)}, newest last; never run "
                      "again)")
        for column in ("key", "attempts", "last failed", "reason"):
            table.add_column(column, overflow="fold")
        for failure in due_dead[-limit:]:
            table.add_row(failure.key, str(failure.attempts),
                          failure.last_failed_at.strftime("%Y-%m-%d %H:%M UTC"),
                          failure.last_error)
        out().print(table)


@main.group("report")
def report_group() -> None:
    """Program reports."""


def _span(value: timedelta | None) -> str:
    from bot.durations import describe

    return describe(value) if value is not None else "-"


@report_group.command("mentoring")
@config_option
def report_mentoring(config_path: Path | None) -> None:
    """Help requests per project and per mentor: time to first response, to resolve,
    escalations."""
    from rich.table import Table

    from services.reports import mentoring_report

    groups = _run(mentoring_report(_load(config_path)))
    for key, title in (("project", "Per project"), ("mentor", "Per mentor")):
        table = Table(title=f"Help requests: {title.lower()}")
        for column in (key, "requests", "claimed", "resolved", "escalated",
                       "median first response", "median time to resolve"):
            table.add_column(column)
        for row in groups[key]:
            table.add_row(row.group, str(row.cases), str(row.claimed), str(row.resolved),
                          str(row.escalated), _span(row.median_first_response),
                          _span(row.median_resolve))
        out().print(table)


@main.group()
def certificate() -> None:
    """Workshop certificates."""


@certificate.command("verify")
@click.argument("code")
@config_option
def certificate_verify(code: str, config_path: Path | None) -> None:
    """Show whose certificate CODE is, for which workshop, and when it was issued."""
    from rich.table import Table

    from services.reports import verify_certificate

    found = _run(verify_certificate(_load(config_path), code))
    if found is None:
        _fail(f"no certificate with code {code!r}: check the code for typos", code=1)
    table = Table(title=f"Certificate {found.code}: valid")
    table.add_column("field")
    table.add_column("value")
    table.add_row("holder", found.holder)
    table.add_row("workshop", f"{found.workshop_title} ({found.workshop_id})")
    table.add_row("issued", found.issued_at.strftime("%Y-%m-%d %H:%M UTC"))
    out().print(table)


@main.command("broadcast")
@click.argument("event_id", metavar="EVENT")
@click.option("--at", "at_text", default="", metavar="'YYYY-MM-DD HH:MM'",
              help="Send later: a time in the event's time zone (default: now).")
@click.option("--yes", "assume_yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-wait", is_flag=True, help="Queue and exit; do not watch delivery.")
@config_option
def broadcast(event_id: str, at_text: str, assume_yes: bool, no_wait: bool,
              config_path: Path | None) -> None:
    """Preview an event's invite, then (after you confirm) queue it for the running bot.

    The bot (`wayfinder run`) delivers from the durable outbox; this command shows a
    progress bar meanwhile. Ctrl-C stops watching, not the delivery."""
    from services.broadcast import broadcast_now, broadcast_preview

    config = _load(config_path)
    local_at = _parse_at(at_text) if at_text else None
    preview = _run(broadcast_preview(config, event_id.lower(), local_at))
    out().print("\n".join(preview.lines), markup=False, highlight=False)
    if not preview.reach:
        sys.exit(1)
    if not assume_yes and not click.confirm("Send it?", default=False):
        out().print("Nothing was sent.")
        return
    invite, queued = _run(broadcast_now(config, preview.event, preview.send_at,
                                        f"cli:{getpass.getuser()}"))
    if invite.status == "scheduled" and not queued:
        out().print(f"Scheduled (broadcast #{invite.id}). The running bot sends it when due.")
        return
    out().print(f"Queued {queued} invites (broadcast #{invite.id}); the running bot delivers "
              "them.")
    if not no_wait and queued:
        _watch(config, invite.id, queued)


def _parse_at(text: str) -> datetime:
    try:
        local = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        _fail(f"--at {text!r}: write it like '2027-01-20 18:00' (the event's time zone)")
    return local.replace(tzinfo=None)


def _watch(config: Config, broadcast_id: int, total: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from services.broadcast import delivery_of

    async def watch() -> None:
        last, still = -1, 0.0
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=out()) as progress:
            task = progress.add_task("delivering", total=total)
            while True:
                counts = await delivery_of(config, broadcast_id)
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
        _run(watch())
    except KeyboardInterrupt:
        out().print("Stopped watching; delivery goes on in the bot.")
