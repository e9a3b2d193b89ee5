"""The console adapter: one person at the terminal (or a script on a pipe) talks to the bot."""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from adapters.render import render_plain
from bot.model import (
    Capabilities,
    ExternalId,
    Identity,
    Inbound,
    Network,
    Outbound,
    Receipt,
    RoomRef,
)
from bot.ports import InboundSink, PermanentSendError

CONSOLE = Network("console")


def _reader(stream: TextIO, loop: asyncio.AbstractEventLoop,
            queue: asyncio.Queue[str | None]) -> None:
    # A daemon thread, so a blocked read never keeps the process alive at exit.
    try:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
    finally:
        loop.call_soon_threadsafe(queue.put_nowait, None)


@dataclass
class ConsoleAdapter:
    """Identities are `console:NAME`, verified: the person at the terminal runs the bot."""

    name: str
    room: str = ""
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    network: Network = CONSOLE
    capabilities: Capabilities = field(default_factory=Capabilities)

    async def run(self, sink: InboundSink) -> None:
        """Read lines until end of input, handing each to the bot in order."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_reader, args=(self.stdin, loop, queue), daemon=True,
                         name="console-stdin").start()
        session = uuid.uuid4().hex[:12]
        me = Identity(self.network, ExternalId(self.name), verified=True)
        room = RoomRef(self.network, self.room or f"console:{self.name}", self.room, True)
        if self.stdin.isatty():
            self._print(f"Wayfinder is listening as console:{self.name}. Type !start to begin, "
                        "!help for commands, Ctrl-D to quit.")
        count = 0
        while (line := await queue.get()) is not None:
            count += 1
            text = line.rstrip("\r\n")
            await sink(Inbound(self.network, f"{session}:{count}", room, me, text, True,
                               datetime.now(UTC)))

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        try:
            self._print(render_plain(msg))
        except BrokenPipeError:  # the reader went away (`| head`): retrying cannot help
            raise PermanentSendError("the terminal's output is closed") from None
        return Receipt(idempotency_key)

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n\n")
        self.stdout.flush()
