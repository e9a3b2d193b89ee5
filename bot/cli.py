"""The `wayfinder` command line: the core commands here, each feature's in flows/<feature>/cli.py.

Quick to start: only click is imported up front. The store, the app, the config models, the
network libraries and rich are imported inside the command that uses them, so `--help` and a
mistyped command answer at once (tests/test_startup.py checks what `import bot.cli` loads).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from bot.clikit import CliContext, config_option
from flows.cli import FEATURE_CLI  # the features' commands, loading no feature

if TYPE_CHECKING:
    from rich.console import Console

    from bot.config import Config, ConfigError


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@cache
def out() -> Console:
    from rich.console import Console

    return Console()


def _load(config_path: Path | None) -> Config:
    from bot.config import ConfigError
    from bot.logs import configure
    from bot.wiring import load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(_config_problems(exc))
    if config.logging.format != "text":
        configure(logging.getLogger().level, config.logging.format)
    return config


def _config_problems(exc: ConfigError) -> str:
    if len(exc.problems) == 1:
        return f"config error: {exc}"
    lines = str(exc).splitlines()
    return f"config has {len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines)


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
        _fail(_config_problems(exc))
    except ContentError as exc:
        _fail("content has problems:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except (AdapterFatalError, StoreBrokenError) as exc:
        _fail(str(exc), code=1)


def _use_cases() -> object:
    import services.use_cases

    return services.use_cases


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Wayfinder: guides newcomers from "hello" to their first contribution, in chat."""
    ctx.obj = CliContext(load=_load, run_coroutine=_run, fail=_fail, out=out,
                         use_cases=_use_cases)
    from bot.logs import configure

    configure({0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG))


@main.command()
@config_option
@click.option("--only", default="", metavar="NETWORK[,NETWORK]",
              help="Run only these enabled networks (named as in [adapters.NAME]), to split "
                   "the networks across processes on one PostgreSQL.")
def run(config_path: Path | None, only: str) -> None:
    """Run the bot on every adapter enabled in the config (with none, in this terminal)."""
    from bot.app import command_menu, run_app
    from bot.config import ConfigError
    from bot.wiring import network_adapters

    config = _load(config_path)
    chosen = [name.strip().lower() for name in only.split(",") if name.strip()]
    try:
        adapters = network_adapters(config, menu=partial(command_menu, config.i18n),
                                    only=chosen)
    except ConfigError as exc:
        _fail(_config_problems(exc))
    _run(run_app(config, adapters, upgrade=partial(_upgrade_in_child, config_path)))


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
@click.option("--host", default=None, help="Listen on this address (default: [web] host).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Listen on this port (default: [web] port).")
def web(config_path: Path | None, host: str | None, port: int | None) -> None:
    """Serve the web pages alone (the public ones and the dashboard), without the bot;
    `wayfinder run` serves them itself when [web] enabled is true."""
    from web.server import WebServer, serve_alone

    config = _load(config_path)

    def ready(server: WebServer) -> None:
        err().print(f"web pages on {server.url}/ (Ctrl-C stops)", highlight=False)

    _run(serve_alone(config, host, port, ready))


@main.command()
@config_option
@click.option("--as", "name", default=None,
              help="Who you are in the chat (default: the config's name, else your login).")
@click.option("--room", default="", help="Pretend to be in this channel, e.g. '#pagebot'.")
def chat(config_path: Path | None, name: str | None, room: str) -> None:
    """Talk to the bot in this terminal; reads stdin until end of input."""
    from bot.app import run_app
    from bot.config import ConfigError
    from bot.wiring import chat_adapters

    config = _load(config_path)
    try:
        adapters = chat_adapters(config, name, room)
    except ConfigError as exc:
        _fail(_config_problems(exc))
    _run(run_app(config, adapters))


@main.command("check-config")
@config_option
def check_config(config_path: Path | None) -> None:
    """Validate the config file and the secrets it names; print what will run."""
    from rich.table import Table

    from bot.config import ConfigError
    from bot.content import ContentError
    from bot.wiring import describe_content, load_content, networks_to_run

    config = _load(config_path)
    failures: list[str] = []
    try:  # secrets and content are both checked, so one run names every problem
        config.check_secrets()
    except ConfigError as exc:
        failures.append(_config_problems(exc))
    try:
        content = load_content(config.content_path())
    except ConfigError as exc:
        failures.append(_config_problems(exc))
    except ContentError as exc:
        failures.append("content has problems:\n" + "\n".join(f"  {p}" for p in exc.problems))
    if failures:
        _fail("\n".join(failures))
    table = Table(title=f"Wayfinder configuration ({config.source})")
    table.add_column("setting")
    table.add_column("value")
    table.add_row("storage.url", config.storage.url)
    table.add_row("content", f"{config.content_path()} ({describe_content(content)})")
    table.add_row("adapters", ", ".join(networks_to_run(config)))
    out().print(table)
    out().print("config OK")


@main.group()
def content() -> None:
    """Community content (the folder of TOML files organizers edit)."""


@content.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@config_option
def content_check(path: Path | None, config_path: Path | None) -> None:
    """Validate a content folder, listing every problem with file, key and reason, and
    warning about texts too long for a network's message."""
    # A folder named alone is checked against the networks' defaults; with a config, its own.
    config: Config | None = None
    if path is None or config_path is not None:
        config = _load(config_path)
        path = path or config.content_path()
    _checked_content(path, config)


def _checked_content(folder: Path, config: Config | None = None) -> None:
    """Validate `folder`; print what it holds and its warnings, or every problem and exit 1."""
    from rich.table import Table

    from bot.content import ContentError
    from bot.i18n import shipped
    from bot.wiring import describe_content, load_content, network_text_check

    try:
        loaded = load_content(folder, network_text_check(config))
    except ContentError as exc:
        table = Table(title=f"{len(exc.problems)} problem(s) in {folder}")
        for column in ("file", "key", "problem"):
            table.add_column(column, overflow="fold")
        for problem in exc.problems:
            table.add_row(problem.file, problem.key or "(file)", problem.reason)
        err().print(table)
        sys.exit(1)
    out().print(f"content OK: {describe_content(loaded)} in {folder}")
    # Texts with translations are expected in every language offered ([i18n] languages;
    # without a config, every one the bot speaks).
    languages = config.i18n.offered() if config is not None else shipped()
    warnings = [*loaded.warnings, *loaded.missing_translations(languages)]
    if warnings:
        table = Table(title=f"{len(warnings)} warning(s): worth a look, not wrong")
        for column in ("file", "key", "warning"):
            table.add_column(column, overflow="fold")
        for warning in warnings:
            table.add_row(warning.file, warning.key or "(file)", warning.reason)
        out().print(table)


@content.command("reload")
@config_option
def content_reload(config_path: Path | None) -> None:
    """Validate the content folder, then have the running bot load it (every process on
    the same database). The bot also reloads by itself when files change, and on SIGHUP."""
    import getpass  # termios with it: only this command asks who runs it

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


@main.command()
@config_option
@click.option("--who", default="", help="Only entries whose identity (network:id) contains "
              "this.")
@click.option("--what", "action", default="", help="Only this action, e.g. 'resolve'; "
              "'refused' lists every refusal.")
@click.option("--since", default="", help="Only entries since this long ago (e.g. 7d) or this "
              "date (2026-11-01).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000),
              help="Newest entries to show.")
def audit(config_path: Path | None, who: str, action: str, since: str, limit: int) -> None:
    """Who used a command that needs a role, or was refused one, and when."""
    from rich.table import Table
    from rich.text import Text

    from services.reports import audit_log

    config = _load(config_path)
    entries = _run(audit_log(config, who.strip(), action.strip().lower(), _since(since), limit))
    if not entries:
        out().print("no audit entries match")
        return
    table = Table(title=f"Audit log ({len(entries)}, newest last)")
    for column in ("when (UTC)", "who", "what", "detail"):
        table.add_column(column, overflow="fold")
    for entry in entries:  # Text, not markup: what people typed is shown as typed
        refused = entry.action.startswith("refused:")
        table.add_row(entry.at.strftime("%Y-%m-%d %H:%M:%S"), Text(entry.identity),
                      Text(entry.action, style="red" if refused else ""), Text(entry.detail))
    out().print(table)


def _since(text: str) -> datetime | None:
    """--since as a moment: a duration ago, or a date (UTC midnight)."""
    from bot.durations import parse_duration

    text = text.strip()
    if not text:
        return None
    try:
        return datetime.now(UTC) - parse_duration(text, longest=timedelta(days=3660))
    except ValueError:
        pass
    try:
        day = date.fromisoformat(text)
    except ValueError:
        _fail(f"--since {text!r}: write a duration like 7d or a date like 2026-11-01")
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


for register in FEATURE_CLI:
    register(main)
