"""The composition root: the one module that wires bot, adapters, flows and storage together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.config import Config, I18nConfig
from bot.content import Content
from bot.engine import Clock, Engine, utcnow
from bot.feature import FeatureService, ServiceContext, role_grants
from bot.feature import command_menu as feature_menu
from bot.inbound import InboundProcessor
from bot.metrics import Meter, Ops, OpsServer, Sources
from bot.model import CommandMenu, Network, Outbound, PersonId, outbound_to_json
from bot.outbox import Dispatcher, Sleep
from bot.ports import (
    Adapter,
    AdapterFatalError,
    OutboxItem,
    StoreBrokenError,
    UnitOfWork,
)
from bot.records import Record
from bot.reload import RELOAD_ACTION, ContentReloader
from bot.roles import Directory
from bot.scheduler import Ticker
from bot.text import one_line
from bot.wiring import FEATURES as FEATURES  # listed in wiring; still importable from here
from bot.wiring import adapter_rates, check_features, describe_content, load_content
from flows.account.reads import AccountReads
from flows.crm.reads import CrmReads
from flows.dashboard.reads import DashboardReads
from flows.digest.reads import DigestReads
from flows.events.reads import EventsReads
from flows.forge.reads import ForgeReads
from flows.levelup.reads import LevelupReads
from flows.mentoring.reads import MentoringReads
from flows.pairing.reads import PairingReads
from flows.path.reads import PathReads
from flows.privacy.reads import PrivacyReads
from flows.tracker.reads import TrackerReads
from storage.holder import holding
from storage.migrate import is_current
from storage.repository import SqlStore

if TYPE_CHECKING:
    from web.server import WebServer

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 2.0  # after an adapter's first crash; doubled per crash in a row
RESTART_DELAY_MAX_SECONDS = 60.0
# An adapter that ran this long before crashing was up: its next crash counts from the start.
STEADY_SECONDS = 60.0
ROLES_REFRESH_SECONDS = 5.0  # PostgreSQL: how stale another process's role grants may be
CONTENT_NETWORK = Network("content")  # inbox namespace of content-problem notices

def feature_reads(store: SqlStore) -> tuple[AccountReads, CrmReads, DashboardReads, DigestReads,
                                           EventsReads, ForgeReads, LevelupReads,
                                           MentoringReads, PairingReads, PathReads,
                                           PrivacyReads, TrackerReads]:
    """The store as each feature reads it (flows/<feature>/reads.py): mypy checks here that
    it has every feature's reads, which `reads_of(turn.reads)` then finds at run time."""
    return store, store, store, store, store, store, store, store, store, store, store, store


def command_menu(i18n: I18nConfig | None = None) -> CommandMenu:
    """Everyone's commands for a network's own menu (Telegram's setMyCommands): in `[i18n]
    default`, and in each offered language for people whose app uses it."""
    i18n = i18n or I18nConfig()
    return feature_menu(FEATURES, i18n.default, i18n.offered())


@dataclass
class App:
    """Owns the store, the engine, the outbox dispatcher, the ticker and the adapters."""

    config: Config
    adapters: Sequence[Adapter]
    clock: Clock = utcnow
    content: Content | None = None
    sleep: Sleep = asyncio.sleep  # tests run rate limits on a virtual clock
    monotonic: Callable[[], float] = time.monotonic
    store: SqlStore = field(init=False)
    engine: Engine = field(init=False)
    inbound: InboundProcessor = field(init=False)  # every adapter's sink
    dispatcher: Dispatcher = field(init=False)
    services: dict[str, FeatureService] = field(default_factory=dict, init=False)  # by feature
    reloader: ContentReloader = field(init=False)
    _watch: asyncio.Task[None] | None = field(default=None, init=False)
    _withdrawals: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _ticker: Ticker | None = field(default=None, init=False)
    _roles: asyncio.Task[None] | None = field(default=None, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    fatal: list[str] = field(default_factory=list, init=False)
    meter: Meter | None = field(default=None, init=False)  # with [metrics] enabled
    last_due: int = field(default=0, init=False)  # due items the last scan found
    _ops: OpsServer | None = field(default=None, init=False)
    web: WebServer | None = field(default=None, init=False)  # with [web] enabled
    # Brings a schema that is behind up to date before the store starts (`wayfinder run`
    # migrates in a child process, so alembic never loads here); None: the store migrates.
    upgrade: Callable[[], None] | None = None

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, tick: bool = True) -> None:
        check_features(self.config)  # a config built in code is checked like a file
        self.meter = Meter() if self.config.metrics.enabled else None
        content = self.content or load_content(self.config.content_path())
        self.content = content
        self.store = SqlStore.open(self.config.storage.url, self.config.storage.durable)
        if self.upgrade is not None and not await schema_is_current(self.store):
            try:  # a child process it waits for: off the event loop, as every blocking call
                await asyncio.to_thread(self.upgrade)
            except BaseException:
                await self.store.db.dispose()
                raise
        await self.store.start()
        self.store.writer.on_broken = self._store_broken
        if self.store.lease_seconds:  # replies to the networks it runs are its own to send
            self.store.writer.lease_seconds = self.config.outbox.lease_seconds
            self.store.writer.lease_networks = frozenset(a.network for a in self.adapters)
        adapters = {Network(a.network): a for a in self.adapters}
        defer = [d for f in FEATURES if f.defer is not None and (d := f.defer(self.config))]
        self.dispatcher = Dispatcher(self.store, adapters, self.config.outbox, sleep=self.sleep,
                                     monotonic=self.monotonic, now=self.clock,
                                     defer=defer[0] if defer else None)
        context = ServiceContext(self.store, self.dispatcher.poke, self.clock, self.config,
                                 lambda: self.engine.content)
        self.services = {f.name: f.services(context) for f in FEATURES if f.services}
        directory = Directory(self.config.roles, content, role_grants(FEATURES))
        await directory.load(self.store)
        self.engine = Engine(
            self.store, content, FEATURES, self.config,
            release=self.dispatcher.enqueue, directory=directory,
            prefixes={a.network: a.capabilities.command_prefixes for a in self.adapters},
            clock=self.clock,
            rates=adapter_rates(self.adapters, self.config), after_records=self._after_records,
            capabilities_of=lambda n: a.capabilities if (a := adapters.get(Network(n)))
            else None)
        handle = self.meter.timed(self.engine.handle) if self.meter else self.engine.handle
        self.inbound = InboundProcessor(handle, self.config.inbound.max_in_flight,
                                        self.config.inbound.max_queued)
        await self.dispatcher.start()
        ops = None if self.meter is None else Ops(Sources(
            self.meter, self.adapters, lambda: self.dispatcher.sends,
            self.store.outbox_by_network, self.store.ping, lambda: self.last_due,
            lambda: self._ticker is not None and self.store.leader.held))
        if self.config.web.enabled:
            # One HTTP server: the web pages, with /metrics, /healthz and /livez when on.
            # Imported only when enabled (Starlette, Jinja2, uvicorn stay unloaded otherwise).
            from web.server import bot_web

            self.web = bot_web(self.config, self.store, lambda: self.engine.content,
                               self.clock, ops, self.dispatcher.poke,
                               self.dispatcher.enqueue)
            await self.web.start()
        elif ops is not None:
            self._ops = OpsServer(ops, self.config.metrics.host, self.config.metrics.port)
            await self._ops.start()
        for service in self.services.values():
            await service.start()
        self.reloader = ContentReloader(self.config.content_path(), self._use_content,
                                        self._tell_organizers, load_content,
                                        partial(self.store.latest_audit_id, RELOAD_ACTION),
                                        describe_content)
        await self.reloader.start()
        if not self.store.db.is_sqlite:
            # Other processes grant and withdraw roles too: read the grants again regularly.
            self._roles = asyncio.create_task(self._refresh_roles(), name="roles-refresh")
        if tick:
            self._ticker = Ticker(self.tick, self.config.flows.scan_interval_seconds)
            self._ticker.start()
            if self.config.content.watch_seconds > 0:
                self._watch = asyncio.create_task(
                    self.reloader.run(self.config.content.watch_seconds), name="content-watch")

    async def _refresh_roles(self) -> None:
        """Several processes on PostgreSQL: each learns its own commits' grants at once, and
        the others' within ROLES_REFRESH_SECONDS."""
        while True:
            await asyncio.sleep(ROLES_REFRESH_SECONDS)
            try:
                await self.engine.directory.load(self.store)
            except Exception:
                log.warning("could not read the role grants again; trying again shortly",
                            exc_info=True)

    def _use_content(self, content: Content) -> None:
        self.content = content
        self.engine.use_content(content)

    async def _tell_organizers(self, text: str, key: str) -> None:
        """A notice to every organizer on a network this process runs, through the outbox.
        Keyed in the inbox, so processes that see the same bad edit queue it once."""
        to = [o for o in self.engine.directory.organizer_identities()
              if o.network in self.engine.networks]
        messages = [Outbound(o, text) for o in to]
        unit = UnitOfWork(PersonId(0), inbox=(CONTENT_NETWORK, key), outbox=[
            OutboxItem(f"content:{key}:{n}", m.to.network, outbound_to_json(m), m)
            for n, m in enumerate(messages)])
        result = await self.store.commit(unit)
        if not result.duplicate:
            self.dispatcher.enqueue(result.outbox)

    async def tick(self) -> int:
        """One round of due work: per-person scans, then every feature's background work.
        Only the leader runs it (one process among several on PostgreSQL; another takes over
        at its next tick when the leader dies). Due work is keyed in the inbox, so an item
        the old leader committed just before it died is not run again."""
        if not await self.store.leader.lead():
            self.last_due = 0
            return 0
        handled = self.last_due = await self.engine.scan_due()
        for name, service in self.services.items():
            try:  # one feature's failing background work never holds up another's
                handled += await service.tick()
            except Exception:
                log.exception("%s: background work failed; the next tick tries again", name)
        self.dispatcher.poke()  # a deferral may have ended for rows that waited
        return handled

    def _after_records(self, records: Sequence[Record]) -> None:
        if any(r.forgets() for r in records):  # people erased (or merged): rows may be gone
            task = asyncio.create_task(self._withdraw(), name="outbox-withdraw")
            self._withdrawals.add(task)
            task.add_done_callback(self._withdrawals.discard)
        for name, service in self.services.items():
            try:  # the turn is committed: its outcome stands whatever a service does
                service.after_records(records)
            except Exception:
                log.exception("%s: could not take note of committed records", name)

    async def _withdraw(self) -> None:
        try:
            await self.dispatcher.withdraw_erased()
        except Exception:
            log.exception("could not check queued messages against erased rows")

    async def close(self) -> None:
        if self.web is not None:
            await self.web.stop()
        if self._ops is not None:
            await self._ops.stop()
        if self._roles is not None:
            self._roles.cancel()
            await asyncio.gather(self._roles, return_exceptions=True)
        if self._ticker is not None:
            self._ticker.stop()
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        if hasattr(self, "reloader"):  # not when the start failed before it
            await self.reloader.stop()
        for service in self.services.values():
            await service.stop()
        await asyncio.gather(*self._withdrawals, return_exceptions=True)
        if hasattr(self, "inbound"):  # not when the start failed before the engine
            await self.inbound.close(self.config.inbound.shutdown_seconds)
        flushed = await self.dispatcher.drain(self.config.outbox.shutdown_flush_seconds)
        if not flushed:
            log.warning("%d replies still queued at shutdown; they are kept and sent on the "
                        "next start", self.dispatcher.backlog())
        await self.dispatcher.stop()
        await self.store.close()

    def stop(self) -> None:
        self._stopping.set()

    def _store_broken(self, failure: StoreBrokenError) -> None:
        log.critical("%s; stopping, since nothing more can be committed", failure)
        self.stop()

    async def _supervise(self, adapter: Adapter) -> None:
        """Keep one adapter running; its crash is logged and it restarts, others carry on.
        Crashes in a row (a server down for hours) wait longer each time, up to a minute, and
        only the first one logs its traceback: one line each after it, not a page every 2 s."""
        in_a_row = 0
        while True:
            began = self.monotonic()
            try:
                await adapter.run(self.inbound)
                return
            except asyncio.CancelledError:
                raise
            except AdapterFatalError as exc:
                # Not restarted: the same login would be refused again. Others carry on.
                log.error("adapter %s stopped: %s", adapter.network, exc)
                self.fatal.append(str(exc))
                return
            except Exception as exc:
                in_a_row = 1 if self.monotonic() - began >= STEADY_SECONDS else in_a_row + 1
                delay = restart_delay(in_a_row)
                if in_a_row == 1:
                    log.exception("adapter %s crashed; restarting in %.0f s", adapter.network,
                                  delay)
                else:
                    log.warning("adapter %s crashed again (%d in a row: %s: %s); restarting in "
                                "%.0f s", adapter.network, in_a_row, type(exc).__name__,
                                one_line(str(exc), 200), delay)
                await asyncio.sleep(delay)

    async def serve(self) -> None:
        """Run every adapter until all have finished (end of console input) or stop()."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        hangup = getattr(signal, "SIGHUP", None)  # not on Windows
        if hangup is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(hangup, self.reloader.request)
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
            # What the adapters are handling, in their own tasks too, finishes first (bounded):
            # an IRC line cut mid-handling is lost, as IRC never sends it again. New events are
            # refused first: under steady traffic the drain would never end.
            self.inbound.stop_intake()
            if not await self.inbound.drain(self.config.inbound.shutdown_seconds):
                log.warning("inbound: events still being handled after %.1f s; stopping the "
                            "adapters anyway", self.config.inbound.shutdown_seconds)
            for task in [*tasks, stopper]:
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM, *([hangup] if hangup else [])):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        if self.store.writer.broken is not None:
            raise self.store.writer.broken
        if self.fatal and not self._stopping.is_set():
            raise AdapterFatalError("; ".join(self.fatal))  # every adapter has ended


def restart_delay(in_a_row: int) -> float:
    """How long to wait before restarting an adapter after its `in_a_row`-th crash in a row."""
    return min(RESTART_DELAY_MAX_SECONDS, RESTART_DELAY_SECONDS * 2.0 ** (in_a_row - 1))


async def schema_is_current(store: SqlStore) -> bool:
    """Whether the store's schema is at the newest migration (read without alembic). A store
    that cannot be read counts as current: its start then migrates or reports it."""
    try:
        return await is_current(store.db)
    except Exception:
        return True


async def run_app(config: Config, adapters: Sequence[Adapter],
                  upgrade: Callable[[], None] | None = None) -> None:
    """Run the bot until stopped; `upgrade`, if given, migrates a schema that is behind
    (App.upgrade)."""
    with holding(config.storage.url):  # one running bot per SQLite file
        async with App(config, adapters, upgrade=upgrade) as app:
            settle_heap()
            await app.serve()


def settle_heap() -> None:
    """Move what start-up built (libraries, content, config) out of the collector's reach.
    Full collections walk every live object; with the ~140,000 objects of the loaded libraries
    each one stalled the loop for ~50 ms, which let a fast rate bucket overflow and lost up to
    a tenth of its sends (measured by bench.broadcast). Once per process, after start.
    Then the C heap's free pages go back to the system: start-up's passing allocations
    (content and config parsing, schema building, the first queries) leave about 1 MB free
    but resident in malloc's heaps (bench.startup)."""
    gc.collect()
    gc.freeze()
    release_free_heap()


def release_free_heap() -> None:
    """glibc's malloc_trim: free pages of every malloc heap back to the system. Elsewhere
    (another C library, another system) nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return  # not glibc
    trim(0)
