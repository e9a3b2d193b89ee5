"""The bot as a subprocess for the kill -9 test: three networks over a line protocol to the
test process, which plays the networks (and, for Matrix, deduplicates by transaction id)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bot.app import App
from bot.config import config_from_dict
from bot.model import Capabilities, Network, Outbound, Rate, Receipt
from bot.ports import InboundSink, TransientSendError
from tests.harness import CONTENT, NO_FLOOD_LIMITS

NETWORKS = {"telegram": False, "irc": False, "matrix": True}  # name: deduplicates by key
RATE = Rate(300.0, 10)


class WireAdapter:
    """Sends each message as one JSON line and waits for the network's "ok"."""

    def __init__(self, network: str, port: int) -> None:
        self.network = Network(network)
        self.capabilities = Capabilities(rate=RATE, idempotent=NETWORKS[network])
        self.port = port
        self._lock = asyncio.Lock()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def run(self, sink: InboundSink) -> None:
        await asyncio.Event().wait()

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        async with self._lock:
            try:
                if self._stream is None:
                    self._stream = await asyncio.open_connection("127.0.0.1", self.port)
                reader, writer = self._stream
                to = getattr(msg.to, "external_id", "") or getattr(msg.to, "id", "")
                writer.write(json.dumps({"network": self.network, "key": idempotency_key,
                                         "to": to, "text": msg.text[:40]}).encode() + b"\n")
                await writer.drain()
                if await reader.readline() != b"ok\n":
                    raise ConnectionError("no acknowledgement")
            except OSError as exc:
                self._stream = None
                raise TransientSendError(str(exc)) from exc
        return Receipt(idempotency_key)


async def main(db_url: str, port: int, metrics: int = 0) -> None:
    """With a metrics port (several processes on PostgreSQL): /metrics there, and a short
    outbox lease, so a killed process's rows are taken over within seconds."""
    config = config_from_dict({
        "storage": {"url": db_url},
        "content": {"path": str(CONTENT)},
        "flows": {"scan_interval_seconds": 0.2},
        "events": {"quiet_hours": "", "fan_out_batch": 100},
        "inbound": NO_FLOOD_LIMITS,
        **({"metrics": {"enabled": True, "port": metrics}, "outbox": {"lease_seconds": 2}}
           if metrics else {}),
    }, "(crash test)", Path("."))
    async with App(config, [WireAdapter(n, port) for n in NETWORKS]) as app:
        await app.serve()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], *(int(a) for a in sys.argv[2:4])))
