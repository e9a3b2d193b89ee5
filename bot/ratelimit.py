"""An async token bucket: never sleeps the event loop, only the caller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.model import Rate


class TokenBucket:
    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(rate.burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.rate.burst),
                           self._tokens + (now - self._stamp) * self.rate.per_second)
        self._stamp = now

    async def acquire(self) -> None:
        """Wait for one token; callers are served in arrival order."""
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate.per_second)

    def pause(self, seconds: float) -> None:
        """The network asked us to wait (a 429's retry_after): empty the bucket for that long."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate.per_second
