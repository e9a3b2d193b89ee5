"""The composition root: the one module that wires bot, adapters, flows and storage together."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from adapters.console import ConsoleAdapter
from adapters.telegram import TelegramAdapter
from bot.config import Config, ConfigError
from bot.content import Content, load_content
from bot.engine import Clock, Engine, utcnow
from bot.model import Network
from bot.outbox import Dispatcher
from bot.ports import Adapter, OutboxRow
from bot.records import Certificate
from bot.roles import Directory
from bot.scheduler import Ticker
from flows import all_flows, due_sources, global_commands
from flows.mentoring import ReportRow, report
from storage.migrate import upgrade
from storage.repository import SqlStore

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 2.0


def console_name(config: Config, name: str | None) -> str:
    chosen = name or config.adapters.console.name or getpass.getuser() or "you"
    return "".join(ch for ch in chosen if ch.isprintable() and not ch.isspace())[:64] or "you"


def network_adapters(config: Config, chat_name: str | None = None,
                     room: str = "") -> list[Adapter]:
    """The adapters `wayfinder run` starts: every enabled network, else the console."""
    secrets = config.check_secrets()
    for name in ("irc", "matrix"):
        if getattr(config.adapters, name).enabled:
            raise ConfigError(config.source, f"adapters.{name}.enabled",
                              f"the {name} adapter is not available in this version yet; "
                              "set enabled = false")
    adapters: list[Adapter] = []
    telegram = config.adapters.telegram
    if telegram.enabled:
        adapters.append(TelegramAdapter(
            telegram, secrets["adapters.telegram.token_env"],
            secrets.get("adapters.telegram.webhook_secret_env", "")))
    if not adapters or config.adapters.console.enabled:
        adapters += chat_adapters(config, chat_name, room)
    return adapters


def chat_adapters(config: Config, name: str | None, room: str = "") -> list[Adapter]:
    """`wayfinder chat`: the console only, as console:NAME, optionally "in" a channel."""
    return [ConsoleAdapter(console_name(config, name), room)]


@dataclass
class App:
    """Owns the store, the engine, the outbox dispatcher, the ticker and the adapters."""

    config: Config
    adapters: Sequence[Adapter]
    clock: Clock = utcnow
    content: Content | None = None
    store: SqlStore = field(init=False)
    engine: Engine = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    _ticker: Ticker | None = field(default=None, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, tick: bool = True) -> None:
        content = self.content or load_content(self.config.content_path())
        self.content = content
        self.store = SqlStore.open(self.config.storage.url, self.config.storage.durable)
        await self.store.start()
        adapters = {Network(a.network): a for a in self.adapters}
        self.dispatcher = Dispatcher(self.store, adapters, self.config.outbox)
        directory = Directory(self.config.roles, content,
                              set(await self.store.mentor_assignments()))
        self.engine = Engine(
            self.store, content, all_flows(), global_commands(), self.config,
            release=self.dispatcher.enqueue, directory=directory, due_sources=due_sources(),
            prefixes={a.network: a.capabilities.command_prefixes for a in self.adapters},
            clock=self.clock)
        await self.dispatcher.start()
        if tick:
            self._ticker = Ticker(self.engine.scan_due, self.config.flows.scan_interval_seconds)
            self._ticker.start()

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        flushed = await self.dispatcher.drain(self.config.outbox.shutdown_flush_seconds)
        if not flushed:
            log.warning("%d replies still queued at shutdown; they are kept and sent on the "
                        "next start", self.dispatcher.backlog())
        await self.dispatcher.stop()
        await self.store.close()

    def stop(self) -> None:
        self._stopping.set()

    async def _supervise(self, adapter: Adapter) -> None:
        """Keep one adapter running; its crash is logged and it restarts, others carry on."""
        while True:
            try:
                await adapter.run(self.engine.handle)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("adapter %s crashed; restarting in %.0f s", adapter.network,
                              RESTART_DELAY_SECONDS)
                await asyncio.sleep(RESTART_DELAY_SECONDS)

    async def serve(self) -> None:
        """Run every adapter until all have finished (end of console input) or stop()."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        tasks = [asyncio.create_task(self._supervise(a), name=f"adapter-{a.network}")
                 for a in self.adapters]
        stopper: asyncio.Task[Any] = asyncio.create_task(self._stopping.wait())
        try:
            pending: set[asyncio.Task[Any]] = set(tasks)
            while pending and not self._stopping.is_set():
                _done, pending = await asyncio.wait(pending | {stopper},
                                                    return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stopper)
        finally:
            for task in [*tasks, stopper]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)


async def run_app(config: Config, adapters: Sequence[Adapter]) -> None:
    async with App(config, adapters) as app:
        await app.serve()


@asynccontextmanager
async def maintenance_store(config: Config) -> AsyncIterator[SqlStore]:
    """The database for a one-shot command: migrated, no writer, no adapters."""
    store = SqlStore.open(config.storage.url, config.storage.durable)
    try:
        await upgrade(store.db)
        yield store
    finally:
        await store.db.dispose()


async def upgrade_database(config: Config) -> str:
    async with maintenance_store(config):
        return config.storage.url


async def outbox_report(config: Config) -> tuple[dict[str, int], list[OutboxRow]]:
    """Counts of outbox rows by status, and the dead letters (newest last)."""
    async with maintenance_store(config) as store:
        return await store.outbox_counts(), await store.dead_letters()


async def mentoring_report(config: Config) -> dict[str, list[ReportRow]]:
    """Help requests per project and per mentor: counts, escalations, median times."""
    async with maintenance_store(config) as store:
        cases = await store.all_cases()
    return {"project": report(cases, "project"), "mentor": report(cases, "mentor")}


async def verify_certificate(config: Config, code: str) -> Certificate | None:
    async with maintenance_store(config) as store:
        return await store.certificate(code)
