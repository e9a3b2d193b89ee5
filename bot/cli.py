"""The `wayfinder` command line."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.app import command_menu, run_app
from bot.config import Config, ConfigError
from bot.content import ContentError, load_content
from bot.durations import describe
from bot.ports import AdapterFatalError, StoreBrokenError
from bot.wiring import chat_adapters, enabled_networks, load_config, network_adapters
from services.broadcast import broadcast_now, broadcast_preview, delivery_of
from services.content import request_content_reload
from services.reports import (
    due_dead_letters,
    mentoring_report,
    outbox_report,
    verify_certificate,
)
from services.store import upgrade_database

F = TypeVar("F", bound=Callable[..., Any])
WATCH_SECONDS = 0.5
err = Console(stderr=True)
out = Console()


def config_option(func: F) -> F:
    option = click.option("-c", "--config", "config_path", type=click.Path(path_type=Path),
                          default=None,
                          help="Config file (default: ./wayfinder.toml if present, else "
                               "built-in defaults).")
    return option(func)


def _load(config_path: Path | None) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(f"config error: {exc}")


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    sys.exit(code)


def _run(coro: Any) -> Any:
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
    config = _load(config_path)
    try:
        adapters = network_adapters(config, menu=command_menu())
    except ConfigError as exc:
        _fail(f"config error: {exc}")
    _run(run_app(config, adapters))


@main.command()
@config_option
@click.option("--as", "name", default=None, help="Who you are in the chat (console:NAME).")
@click.option("--room", default="", help="Pretend to be in this channel, e.g. '#pagebot'.")
def chat(config_path: Path | None, name: str | None, room: str) -> None:
    """Talk to the bot in this terminal; reads stdin until end of input."""
    config = _load(config_path)
    _run(run_app(config, chat_adapters(config, name, room)))


@main.command("check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Validate the config file and the secrets it names; print what will run."""
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
    out.print(table)
    out.print("config OK")


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
    try:
        loaded = load_content(folder)
    except ContentError as exc:
        table = Table(title=f"{len(exc.problems)} problem(s) in {folder}")
        for column in ("file", "key", "problem"):
            table.add_column(column, overflow="fold")
        for problem in exc.problems:
            table.add_row(problem.file, problem.key or "(file)", problem.reason)
        err.print(table)
        sys.exit(1)
    tasks = sum(len(p.tasks) for p in loaded.projects.values())
    out.print(f"content OK: {len(loaded.projects)} projects, {len(loaded.workshops)} workshops, "
              f"{tasks} tasks, {len(loaded.regions)} regions in {folder}")


@content.command("reload")
@config_option
def content_reload(config_path: Path | None) -> None:
    """Validate the content folder, then have the running bot load it (every process on
    the same database). The bot also reloads by itself when files change, and on SIGHUP."""
    config = _load(config_path)
    folder = config.content_path()
    _checked_content(folder)
    request = _run(request_content_reload(config, folder, f"cli:{getpass.getuser()}"))
    wait = config.content.watch_seconds
    out.print(f"Reload requested (#{request}): " + (
        f"running bots load it within {wait:g} s." if wait else
        "[content] watch_seconds is 0, so running bots only reload on SIGHUP."), markup=False)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply schema migrations (safe to run again)."""
    url = _run(upgrade_database(_load(config_path)))
    out.print(f"database at {url} is up to date")


@main.command()
@config_option
@click.option("--limit", default=20, show_default=True, help="Dead letters to list.")
def outbox(config_path: Path | None, limit: int) -> None:
    """Show queued, sent and dead (undeliverable) replies, with the reasons."""
    config = _load(config_path)
    counts, dead = _run(outbox_report(config))
    out.print("outbox: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                            or "empty"))
    if dead:
        table = Table(title=f"Undelivered or unknown ({len(dead)}, newest last)")
        for column in ("id", "network", "to", "reason"):
            table.add_column(column, overflow="fold")
        for row in dead[-limit:]:
            to = row.body.get("to", {})
            table.add_row(str(row.id), row.network, str(to.get("id", "")), row.last_error)
        out.print(table)
    due_dead = _run(due_dead_letters(config))
    out.print(f"due work dead letters: {len(due_dead) or 'none'}")
    if due_dead:
        table = Table(title=f"Due work dead letters ({len(due_dead)}, newest last; never run "
                      "again)")
        for column in ("key", "attempts", "last failed", "reason"):
            table.add_column(column, overflow="fold")
        for failure in due_dead[-limit:]:
            table.add_row(failure.key, str(failure.attempts),
                          failure.last_failed_at.strftime("%Y-%m-%d %H:%M UTC"),
                          failure.last_error)
        out.print(table)


@main.group("report")
def report_group() -> None:
    """Program reports."""


def _span(value: timedelta | None) -> str:
    return describe(value) if value is not None else "-"


@report_group.command("mentoring")
@config_option
def report_mentoring(config_path: Path | None) -> None:
    """Help requests per project and per mentor: time to first response, to resolve,
    escalations."""
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
        out.print(table)


@main.group()
def certificate() -> None:
    """Workshop certificates."""


@certificate.command("verify")
@click.argument("code")
@config_option
def certificate_verify(code: str, config_path: Path | None) -> None:
    """Show whose certificate CODE is, for which workshop, and when it was issued."""
    found = _run(verify_certificate(_load(config_path), code))
    if found is None:
        _fail(f"no certificate with code {code!r}: check the code for typos", code=1)
    table = Table(title=f"Certificate {found.code}: valid")
    table.add_column("field")
    table.add_column("value")
    table.add_row("holder", found.holder)
    table.add_row("workshop", f"{found.workshop_title} ({found.workshop_id})")
    table.add_row("issued", found.issued_at.strftime("%Y-%m-%d %H:%M UTC"))
    out.print(table)


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
    config = _load(config_path)
    local_at = _parse_at(at_text) if at_text else None
    preview = _run(broadcast_preview(config, event_id.lower(), local_at))
    out.print("\n".join(preview.lines), markup=False, highlight=False)
    if not preview.reach:
        sys.exit(1)
    if not assume_yes and not click.confirm("Send it?", default=False):
        out.print("Nothing was sent.")
        return
    invite, queued = _run(broadcast_now(config, preview.event, preview.send_at,
                                        f"cli:{getpass.getuser()}"))
    if invite.status == "scheduled" and not queued:
        out.print(f"Scheduled (broadcast #{invite.id}). The running bot sends it when due.")
        return
    out.print(f"Queued {queued} invites (broadcast #{invite.id}); the running bot delivers "
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
    async def watch() -> None:
        last, still = -1, 0.0
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=out) as progress:
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
        out.print("Stopped watching; delivery goes on in the bot.")
