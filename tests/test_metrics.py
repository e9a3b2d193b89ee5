"""Operations: Prometheus metrics, /healthz and /livez, scraped over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.memory import MemoryAdapter
from bot.model import Network
from bot.ports import PermanentSendError
from tests.harness import Harness, make_config
from tests.serverkit import free_port


@dataclass
class Flaky(MemoryAdapter):
    """A memory adapter that says whether it is connected, as the network adapters do."""

    connected: bool = True



async def _get(port: int, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, \
            session.get(f"http://127.0.0.1:{port}{path}") as response:
        return response.status, await response.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_events_latency_sends_and_the_outbox(sqlite_url: str) -> None:
    port = free_port()
    irc = Flaky(Network("irc"))
    async with Harness(make_config(sqlite_url, metrics={"enabled": True, "port": port}),
                       adapters=[irc]) as bot:
        await bot.say("ana", "!start", "irc")
        await bot.say("ana", "!help", "irc")
        irc.failures.append(PermanentSendError("blocked"))
        await bot.say("ana", "!status", "irc")
        status, text = await _get(port, "/metrics")
    assert status == 200
    seen = _samples(text)
    assert seen[("wayfinder_inbound_events_total",
                 (("network", "irc"), ("outcome", "committed")))] == 3
    assert seen[("wayfinder_handling_seconds_count", (("network", "irc"),))] == 3
    assert seen[("wayfinder_handling_seconds_bucket", (("le", "+Inf"), ("network", "irc")))] == 3
    assert seen[("wayfinder_sends_total", (("network", "irc"), ("result", "sent")))] >= 3
    assert seen[("wayfinder_sends_total", (("network", "irc"), ("result", "refused")))] == 1
    assert seen[("wayfinder_outbox_rows", (("network", "irc"), ("status", "dead")))] == 1
    assert seen[("wayfinder_adapter_connected", (("network", "irc"),))] == 1
    assert ("wayfinder_leader", ()) in seen
    assert ("wayfinder_due_items", ()) in seen
    assert any(name == "wayfinder_build_info" for name, _ in seen)


async def test_healthz_is_ready_only_with_the_store_and_every_adapter(sqlite_url: str) -> None:
    port = free_port()
    irc, telegram = Flaky(Network("irc")), Flaky(Network("telegram"))
    async with Harness(make_config(sqlite_url, metrics={"enabled": True, "port": port}),
                       adapters=[irc, telegram]):
        status, body = await _get(port, "/healthz")
        assert (status, body) == (200, '{"ready": true, "store": "ok", "adapters": {"irc": '
                                       'true, "telegram": true}}')
        telegram.connected = False
        status, body = await _get(port, "/healthz")
        assert status == 503
        assert '"telegram": false' in body
        assert await _get(port, "/livez") == (200, '{"alive": true}')
        _status, text = await _get(port, "/metrics")
        assert _samples(text)[("wayfinder_adapter_connected", (("network", "telegram"),))] == 0


async def test_no_metrics_server_unless_enabled(sqlite_url: str) -> None:
    port = free_port()
    async with Harness(make_config(sqlite_url, metrics={"port": port})) as bot:
        assert bot.running.meter is None
        try:
            await _get(port, "/livez")
        except aiohttp.ClientConnectionError:
            pass
        else:
            raise AssertionError("a metrics server answered although [metrics] is off")


async def test_with_the_web_on_metrics_and_health_share_its_server(sqlite_url: str) -> None:
    """[web] and [metrics] both on: one HTTP server, the web's, answers the pages and
    /metrics, /healthz, /livez; [metrics] port is not opened."""
    web_port, metrics_port = free_port(), free_port()
    config = make_config(sqlite_url, metrics={"enabled": True, "port": metrics_port},
                         web={"enabled": True, "port": web_port})
    async with Harness(config) as bot:
        await bot.say("ana", "!start")
        hub, page = await _get(web_port, "/")
        metrics, text = await _get(web_port, "/metrics")
        health, body = await _get(web_port, "/healthz")
        live, _ = await _get(web_port, "/livez")
        try:
            await _get(metrics_port, "/metrics")
            separate = True
        except aiohttp.ClientConnectionError:
            separate = False
    assert (hub, metrics, health, live) == (200, 200, 200, 200)
    assert "Lumen" in page
    assert _samples(text)[("wayfinder_inbound_events_total",
                           (("network", "memory"), ("outcome", "committed")))] == 1
    assert '"ready": true' in body
    assert not separate


async def test_the_web_alone_serves_no_metrics(sqlite_url: str) -> None:
    port = free_port()
    async with Harness(make_config(sqlite_url, web={"enabled": True, "port": port})):
        assert (await _get(port, "/"))[0] == 200
        assert (await _get(port, "/metrics"))[0] == 404


async def test_a_taken_web_port_stops_the_start_with_a_config_error(sqlite_url: str) -> None:
    import socket

    from bot.config import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        harness = Harness(make_config(sqlite_url, web={"enabled": True, "port": port}))
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            await harness.start()
        if harness.app is not None:
            await harness.app.close()
