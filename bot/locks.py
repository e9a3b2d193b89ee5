"""Per-key asyncio locks that disappear when nobody holds or waits for them.

A key nobody holds is taken at once, without a lock object or a suspension (the common case:
one message per person at a time); later holders wait in line, first come first served, and
the key is handed over to the next in line when released.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from types import TracebackType


class KeyedLocks:
    def __init__(self) -> None:
        # A held key -> the holders waiting for it, in turn (empty: held, nobody waits).
        self._held: dict[Hashable, deque[asyncio.Future[None]]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def hold(self, key: Hashable) -> Hold:
        """`async with locks.hold(key):` runs alone among the holders of `key`."""
        return Hold(self, key)

    async def _wait(self, key: Hashable) -> None:
        """Wait in line for a key someone holds (Hold takes a free one itself)."""
        line = self._held[key]
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release(key)  # handed over, then cancelled: pass it on
            elif waiter in line:  # a release may have passed over it already
                line.remove(waiter)
            raise

    def _release(self, key: Hashable) -> None:
        line = self._held[key]
        while line:
            waiter = line.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the key is the waiter's now
                return
        del self._held[key]


class Hold:
    """Holding one key of a KeyedLocks for the duration of an `async with`."""

    __slots__ = ("_key", "_locks")

    def __init__(self, locks: KeyedLocks, key: Hashable) -> None:
        self._locks = locks
        self._key = key

    async def __aenter__(self) -> None:
        held = self._locks._held
        if self._key not in held:  # nobody holds it (most turns): no call, no await
            held[self._key] = deque()
            return
        await self._locks._wait(self._key)

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        locks = self._locks
        if not locks._held[self._key]:  # nobody waits: let go at once (as _release would)
            del locks._held[self._key]
            return
        locks._release(self._key)
