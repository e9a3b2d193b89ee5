"""Say a line as a person, get the bot's replies back: the app over memory adapters."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.memory import MemoryAdapter, Sent
from bot.app import App
from bot.config import Config, config_from_dict
from bot.model import Inbound, Network

CONTENT = Path(__file__).resolve().parent.parent / "content"


def content_copy_in(folder: Path) -> Path:
    """A copy of the demo content under `folder`, for a test to change."""
    import shutil

    root = folder / "content"
    shutil.copytree(CONTENT, root)
    return root


def content_problems(root: Path) -> list[str]:
    """The problems loading the content folder `root` reports (it must have some)."""
    import pytest

    from bot.content import ContentError
    from bot.wiring import load_content

    with pytest.raises(ContentError) as err:
        load_content(root)
    return [str(p) for p in err.value.problems]


EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeClock:
    """The bot's time. With virtual time, rate-limit waits move it instead of waiting."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def monotonic(self) -> float:
        return (self.now - EPOCH).total_seconds()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:  # rounded up: datetime keeps whole microseconds
            self.now += timedelta(microseconds=math.ceil(seconds * 1_000_000))
        await asyncio.sleep(0)


# Tests script a person's turns faster than anyone types, on a clock that stands still:
# flood limits are off unless a test sets [inbound] itself (tests/test_floods.py does).
NO_FLOOD_LIMITS = {"flood_per_person": 0, "flood_per_room": 0}


def make_config(db_url: str, **sections: Mapping[str, object]) -> Config:
    data: dict[str, object] = {"storage": {"url": db_url, "durable": False},
                               "content": {"path": str(CONTENT)}, "inbound": NO_FLOOD_LIMITS,
                               **sections}
    return config_from_dict(data, "(test)", Path("."))


class Harness:
    """One bot (App) with a memory adapter per network, restartable on the same database."""

    def __init__(self, config: Config, networks: Sequence[str] = ("memory",),
                 clock: FakeClock | None = None, adapters: Sequence[MemoryAdapter] = (),
                 virtual_time: bool = False) -> None:
        self.config = config
        self.clock = clock or FakeClock()
        self.adapters: dict[str, MemoryAdapter] = {str(a.network): a for a in adapters} or {
            n: MemoryAdapter(Network(n)) for n in networks}
        self.virtual_time = virtual_time
        if virtual_time:
            for adapter in self.adapters.values():
                adapter.clock = self.clock.monotonic
        self.app: App | None = None

    async def __aenter__(self) -> Harness:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        extra: dict[str, Any] = ({"sleep": self.clock.sleep, "monotonic": self.clock.monotonic}
                                 if self.virtual_time else {})
        self.app = App(self.config, list(self.adapters.values()), clock=self.clock, **extra)
        await self.app.start(tick=False)
        for adapter in self.adapters.values():
            adapter.attach(self.app.inbound)  # as `wayfinder run` hands events over

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.close()
            self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def running(self) -> App:
        assert self.app is not None, "the harness is not started"
        return self.app

    def inbound(self, who: str, text: str, network: str = "memory", **kw: object) -> Inbound:
        return self.adapters[network].inbound(who, text, **kw)  # type: ignore[arg-type]

    async def send(self, inbound: Inbound) -> list[Sent]:
        """Deliver an inbound event and return the replies that reached its room."""
        adapter = self.adapters[inbound.network]
        before = len(adapter.sent)
        await adapter.deliver(inbound)
        await self.running.dispatcher.drain(10)
        return [s for s in adapter.sent[before:] if getattr(s.msg.to, "id", None) ==
                inbound.room.id]

    async def say(self, who: str, text: str, network: str = "memory", **kw: object) -> str:
        """Say `text` as `who`; the bot's replies, joined by blank lines."""
        sent = await self.send(self.inbound(who, text, network, **kw))
        return "\n\n".join(s.text for s in sent)

    async def script(self, who: str, lines: Sequence[str], network: str = "memory") -> str:
        out = ""
        for line in lines:
            out = await self.say(who, line, network)
        return out

    async def tick(self) -> int:
        """One scheduler tick (scans and due broadcasts), then everything sendable sent."""
        handled = await self.running.tick()
        await self.running.dispatcher.drain(60)
        return handled
