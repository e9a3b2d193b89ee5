"""An async token bucket: never sleeps the event loop, only the caller.

Waiters queue in arrival order; one pump task sleeps until tokens are there and then hands
out every token it has at once, so at high rates many senders wake in the same loop
iteration instead of passing a lock along one iteration per message (which capped a
10,000-per-second bucket well below its rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
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
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pump: asyncio.Task[None] | None = None

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.rate.burst),
                           self._tokens + (now - self._stamp) * self.rate.per_second)
        self._stamp = now

    async def acquire(self) -> None:
        """Wait for one token; callers are served in arrival order."""
        if not self._waiters:
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run_pump(), name="token-bucket")
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._tokens += 1  # granted as the caller gave up: the token is not spent
            raise

    async def _run_pump(self) -> None:
        while self._waiters:
            self._refill()
            while self._waiters and self._tokens >= 1:
                waiter = self._waiters.popleft()
                if not waiter.done():  # a cancelled waiter takes no token
                    waiter.set_result(None)
                    self._tokens -= 1
            while self._waiters and self._waiters[0].done():
                self._waiters.popleft()
            if self._waiters:
                await self._sleep((1 - self._tokens) / self.rate.per_second)

    def pause(self, seconds: float) -> None:
        """The network asked us to wait (a 429's retry_after): empty the bucket for that long."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - seconds * self.rate.per_second

    async def close(self) -> None:
        """Stop the pump (the dispatcher stops); waiters still queued are cancelled."""
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
