"""An adapter that keeps everything in memory: the test harness speaks through it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from adapters.render import render_plain
from bot.model import (
    Capabilities,
    ExternalId,
    Identity,
    Inbound,
    Network,
    Outbound,
    Rate,
    Receipt,
    RoomRef,
)
from bot.ports import InboundSink, Outcome, PartSent, SendError, send_every_part

MEMORY = Network("memory")


@dataclass
class Sent:
    msg: Outbound
    idempotency_key: str
    at: float

    @property
    def text(self) -> str:
        return render_plain(self.msg)


@dataclass
class MemoryAdapter:
    """Records every send; `failures` lets a test make the next sends fail."""

    network: Network = MEMORY
    capabilities: Capabilities = field(default_factory=Capabilities)
    sent: list[Sent] = field(default_factory=list)
    failures: list[SendError] = field(default_factory=list)
    dedupe: bool = True  # behave like a network that honours idempotency keys
    record: bool = True  # False: only count sends (benchmarks)
    count: int = 0
    _keys: set[str] = field(default_factory=set)
    _sink: InboundSink | None = None
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    clock: Callable[[], float] | None = None  # when sends happened; default: the loop's time

    @classmethod
    def with_rate(cls, network: str, per_second: float, burst: int) -> MemoryAdapter:
        return cls(Network(network), Capabilities(rate=Rate(per_second, burst)))

    async def run(self, sink: InboundSink) -> None:
        self._sink = sink
        await asyncio.Event().wait()

    def attach(self, sink: InboundSink) -> None:
        self._sink = sink

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        if self.failures:
            raise self.failures.pop(0)
        if self.dedupe and idempotency_key in self._keys:
            return Receipt(idempotency_key)
        self.count += 1
        if not self.record:
            return Receipt(idempotency_key)
        self._keys.add(idempotency_key)
        at = self.clock() if self.clock else asyncio.get_running_loop().time()
        self.sent.append(Sent(msg, idempotency_key, at))
        self._changed.set()
        return Receipt(idempotency_key)

    def identity(self, name: str, verified: bool = True) -> Identity:
        return Identity(self.network, ExternalId(name), verified)

    def inbound(self, name: str, text: str, room: str = "", event_id: str = "",
                direct: bool = True, verified: bool = True, language: str = "") -> Inbound:
        room_ref = RoomRef(self.network, room or f"dm:{name}", room, direct)
        return Inbound(self.network, event_id or f"{self.network}-{next(self._counter)}",
                       room_ref, self.identity(name, verified), text, direct, datetime.now(UTC),
                       language=language)

    async def deliver(self, inbound: Inbound) -> Outcome:
        """Hand an inbound event to the bot, as the network would; what became of it."""
        if self._sink is None:
            raise RuntimeError("the adapter is not running")
        return await self._sink(inbound)

    async def wait_for(self, count: int, within: float = 5.0) -> list[Sent]:
        """Wait until at least `count` messages were sent in total."""
        async with asyncio.timeout(within):
            while len(self.sent) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.sent


@dataclass
class SplittingMemoryAdapter(MemoryAdapter):
    """A memory adapter that splits each message into parts of `part_size` characters, as
    Telegram splits at 4096, and fails (from `failures`) part by part. It never deduplicates
    a part: like Telegram, only the dispatcher's count of parts sent prevents a repeat."""

    part_size: int = 10
    dedupe: bool = False
    # Fail instead of sending a part when this many parts were sent in all, once each.
    fail_at: dict[int, Exception] = field(default_factory=dict)

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        return await send_every_part(self, msg, idempotency_key)

    async def send_parts(self, msg: Outbound, idempotency_key: str, done: int,
                         part_sent: PartSent) -> Receipt:
        text = msg.text
        parts = [text[at:at + self.part_size] for at in range(0, len(text), self.part_size)]
        for index in range(done, len(parts)):
            if self.failures:
                raise self.failures.pop(0)
            if self.count in self.fail_at:
                raise self.fail_at.pop(self.count)
            self.count += 1
            at = self.clock() if self.clock else asyncio.get_running_loop().time()
            self.sent.append(Sent(replace(msg, text=parts[index]),
                                  f"{idempotency_key}#{index}", at))
            self._changed.set()
            if index + 1 < len(parts):
                await part_sent(index + 1)
        return Receipt(idempotency_key)
