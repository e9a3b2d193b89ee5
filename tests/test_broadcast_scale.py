"""A 2,000-recipient broadcast over three networks, at realistic rate limits, on virtual time."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

from adapters.memory import MemoryAdapter, Sent
from bot.model import Identity
from tests.harness import FakeClock, Harness, make_config

# Telegram ~30/s overall; IRC a bucket of 4 then 1 line/s; Matrix about 10/s before 429s.
RATES = {"telegram": (30.0, 1), "irc": (1.0, 4), "matrix": (10.0, 1)}
REGIONS = ["de", "pl", "br", "ng"]  # the event is for Europe and the Americas; not Nigeria


def max_in_window(times: list[float], window: float) -> int:
    """The most sends inside any `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def seed(h: Harness, people: int) -> dict[str, tuple[str, str, bool]]:
    """People spread over networks and regions; every tenth one never consents."""
    who: dict[str, tuple[str, str, bool]] = {}
    networks = list(RATES)
    for n in range(people):
        network, region, consents = networks[n % 3], REGIONS[n % 4], n % 10 != 9
        name = f"p{n}"
        who[name] = (network, region, consents)
        adapter = h.adapters[network]
        await adapter.deliver(adapter.inbound(name, f"!region {region}"))
        if consents:
            await adapter.deliver(adapter.inbound(name, "!invites on"))
    await h.running.dispatcher.drain(600)
    return who


async def test_two_thousand_invites_reach_everyone_once_within_every_rate(
        sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 21, 30, tzinfo=UTC))  # 22:30 Berlin, 18:30 Recife
    adapters = [MemoryAdapter.with_rate(n, rate, burst) for n, (rate, burst) in RATES.items()]
    config = make_config(sqlite_url, roles={"organizers": ["telegram:org"]},
                         events={"quiet_hours": "22:00-08:00", "fan_out_batch": 300})
    async with Harness(config, clock=clock, adapters=adapters, virtual_time=True) as h:
        who = await seed(h, 3000)
        expected = {name for name, (_net, region, yes) in who.items()
                    if yes and region != "ng"}
        assert len(expected) >= 2000
        for adapter in adapters:
            adapter.sent.clear()

        await h.say("org", "!event new meetup | Meetup | 2026-12-10 18:30 | Europe/Berlin | "
                    "x | europe, americas | everyone", "telegram")
        preview = await h.say("org", "!broadcast meetup", "telegram")
        assert f"It reaches {len(expected)} people" in preview
        await h.say("org", "!broadcast confirm", "telegram")
        await h.tick()

        def invites() -> list[tuple[str, Sent]]:
            return [(a.network, s) for a in adapters for s in a.sent
                    if s.text.startswith("You're invited")]

        # Brazil is awake: its invites went out; Europe is asleep: deferred, not dropped.
        first = invites()
        regions_now = {who[s.msg.to.external_id][1] for _n, s in first
                       if isinstance(s.msg.to, Identity)}
        assert regions_now == {"br"}
        clock.now = datetime(2026, 11, 3, 7, 1, tzinfo=UTC)  # 08:01 in Berlin and Warsaw
        await h.tick()

        received = Counter(s.msg.to.external_id for _n, s in invites()
                           if isinstance(s.msg.to, Identity))
        assert set(received) == expected  # nobody outside the region or without consent
        assert max(received.values()) == 1  # and nobody twice
        for network, sent in ((n, [s for m, s in invites() if m == n]) for n in RATES):
            assert {who[s.msg.to.external_id][0] for s in sent  # type: ignore[union-attr]
                    } == {network}  # each on the network they use
        for adapter in adapters:
            rate, burst = RATES[adapter.network]
            times = [s.at for s in adapter.sent]
            assert max_in_window(times, 1.0) <= burst + rate, adapter.network
            assert max_in_window(times, 10.0) <= burst + rate * 10, adapter.network
        status = await h.say("org", "!event status meetup", "telegram")
        assert f"delivered {len(expected)}, waiting 0" in status
        assert "failed 0, unknown 0" in status
        await asyncio.sleep(0)
