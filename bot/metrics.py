"""Prometheus metrics, /healthz and /livez, for operators (`[metrics] enabled`).

Nothing here runs unless metrics are on. The core's hot path only bumps counters it owns
(the dispatcher's per-network sends, the meter's inbound counts); the exporter turns them into
Prometheus families at scrape time, with what it asks the store (outbox depth, dead letters)."""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.model import Inbound
from bot.ports import Adapter, InboundSink, Outcome

if TYPE_CHECKING:
    from aiohttp import web
    from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LATENCY_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_TIMEOUT = 2.0  # seconds /healthz waits for the store before calling it not ready


@runtime_checkable
class ReportsConnection(Protocol):
    """An adapter that knows whether it is connected (the others count as connected)."""

    @property
    def connected(self) -> bool: ...


def connected(adapter: Adapter) -> bool:
    return adapter.connected if isinstance(adapter, ReportsConnection) else True


@dataclass
class Meter:
    """Inbound events per network and outcome, and how long handling took (a histogram)."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)
    buckets: dict[str, list[int]] = field(default_factory=dict)  # per network, per bound (+Inf)
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, handle: InboundSink) -> InboundSink:
        async def measured(inbound: Inbound) -> Outcome:
            began = time.perf_counter()
            outcome = await handle(inbound)
            self.record(inbound.network, outcome, time.perf_counter() - began)
            return outcome
        return measured

    def record(self, network: str, outcome: Outcome, seconds: float) -> None:
        self.events[(network, outcome.value)] += 1
        counts = self.buckets.setdefault(network, [0] * (len(LATENCY_BOUNDS) + 1))
        counts[bisect.bisect_left(LATENCY_BOUNDS, seconds)] += 1
        self.seconds[network] = self.seconds.get(network, 0.0) + seconds


@dataclass
class Sources:
    """What the exporter reads: the app's parts, as functions so nothing is copied."""

    meter: Meter
    adapters: Sequence[Adapter]
    sends: Callable[[], Mapping[str, Counter[str]]]  # per network: sent, throttled, failed
    outbox: Callable[[], Awaitable[dict[tuple[str, str], int]]]
    ping: Callable[[], Awaitable[None]]
    due: Callable[[], int]  # due items the last scan found
    leading: Callable[[], bool]  # whether this process runs the scans


def families(sources: Sources, outbox: Mapping[tuple[str, str], int]) -> Iterator[Any]:
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        InfoMetricFamily,
    )

    events = CounterMetricFamily("wayfinder_inbound_events", "Inbound events by network and "
                                 "outcome", labels=["network", "outcome"])
    for (network, outcome), count in sorted(sources.meter.events.items()):
        events.add_metric([network, outcome], count)
    yield events
    latency = HistogramMetricFamily("wayfinder_handling_seconds", "Time from an inbound event "
                                    "to its committed outcome", labels=["network"])
    for network, counts in sorted(sources.meter.buckets.items()):
        running, cumulative = 0, []
        for bound, count in zip((*LATENCY_BOUNDS, float("inf")), counts, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else str(bound), running))
        latency.add_metric([network], cumulative, sources.meter.seconds[network])
    yield latency
    sends = CounterMetricFamily("wayfinder_sends", "Messages handed to a network, by result",
                                labels=["network", "result"])
    for network, results in sorted(sources.sends().items()):
        for result, count in sorted(results.items()):
            sends.add_metric([network, result], count)
    yield sends
    depth = GaugeMetricFamily("wayfinder_outbox_rows", "Outbox rows by network and status "
                              "(pending is the depth, dead the dead letters)",
                              labels=["network", "status"])
    for (network, status), count in sorted(outbox.items()):
        depth.add_metric([network, status], count)
    yield depth
    yield GaugeMetricFamily("wayfinder_due_items", "Due items the last scan found",
                            value=sources.due())
    up = GaugeMetricFamily("wayfinder_adapter_connected", "1 while the network's adapter is "
                           "connected", labels=["network"])
    for adapter in sources.adapters:
        up.add_metric([adapter.network], 1.0 if connected(adapter) else 0.0)
    yield up
    yield GaugeMetricFamily("wayfinder_leader", "1 while this process runs the scans and "
                            "broadcasts", value=1.0 if sources.leading() else 0.0)
    info = InfoMetricFamily("wayfinder_build", "Version of the running bot")
    info.add_metric([], {"version": _version()})
    yield info


def _version() -> str:
    try:
        return metadata.version("wayfinder")
    except metadata.PackageNotFoundError:
        return "unknown"


class _Snapshot:
    def __init__(self, found: Iterable[Any]) -> None:
        self.found = list(found)

    def collect(self) -> Iterable[Any]:
        return self.found


@dataclass(frozen=True)
class OpsReply:
    """An answer of /metrics, /healthz or /livez, whichever HTTP server carries it."""

    status: int
    content_type: str
    body: bytes


class Ops:
    """/metrics, /healthz (ready: the store answers and every adapter is connected) and
    /livez (the process's loop answers), as plain answers: served by OpsServer on
    `[metrics] host:port`, or by the web server when it runs (one server, not two)."""

    PATHS = ("/metrics", "/healthz", "/livez")

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    async def answer(self, path: str) -> OpsReply:
        if path == "/metrics":
            return await self.metrics()
        if path == "/healthz":
            return await self.healthz()
        return self.livez()

    async def metrics(self) -> OpsReply:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        try:
            outbox = await asyncio.wait_for(self.sources.outbox(), STORE_TIMEOUT)
        except Exception:  # the store is down: still report what this process knows
            log.warning("metrics: the outbox could not be counted", exc_info=True)
            outbox = {}
        registry = CollectorRegistry(auto_describe=False)
        snapshot: Collector = _Snapshot(families(self.sources, outbox))
        registry.register(snapshot)
        return OpsReply(200, CONTENT_TYPE_LATEST, generate_latest(registry))

    async def healthz(self) -> OpsReply:
        try:
            await asyncio.wait_for(self.sources.ping(), STORE_TIMEOUT)
            store = "ok"
        except Exception as exc:
            store = f"{type(exc).__name__}: {exc}"[:200] or "no answer"
        adapters = {a.network: connected(a) for a in self.sources.adapters}
        ready = store == "ok" and all(adapters.values())
        body = {"ready": ready, "store": store, "adapters": adapters}
        return OpsReply(200 if ready else 503, "application/json", json.dumps(body).encode())

    @staticmethod
    def livez() -> OpsReply:
        return OpsReply(200, "application/json", b'{"alive": true}')


class OpsServer:
    """Ops on its own small HTTP server, `[metrics] host:port` (when the web server is off)."""

    def __init__(self, ops: Ops, host: str, port: int) -> None:
        self.ops, self.host, self.port = ops, host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        from aiohttp import web

        server = web.Application()
        for path in Ops.PATHS:
            server.router.add_get(path, self._answer)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics and health on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _answer(self, request: web.Request) -> web.Response:
        from aiohttp import web

        reply = await self.ops.answer(request.path)
        return web.Response(body=reply.body, status=reply.status,
                            headers={"Content-Type": reply.content_type})
