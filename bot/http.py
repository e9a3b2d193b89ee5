"""One outgoing HTTP client per process, shared by every feature's background work.

A feature's service takes it in `start` (`client = await SHARED_HTTP.acquire()`) and gives it
back in `stop` (`await SHARED_HTTP.release()`): the first taker opens the client, the last
giver closes it, so one connection pool (and one set of timeouts) serves the whole process.
Every request has a deadline: the client's default timeouts, or a shorter one the caller
passes per request. httpx is imported on the first `acquire`, never by importing this module
(`wayfinder --help` and a bot without such work never load it), and without its command line
(`lean_httpx`).

This module names no feature: the URLs, tokens and response shapes belong to its users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.lean_import import import_lean

if TYPE_CHECKING:
    import httpx

CONNECT_SECONDS = 5.0
READ_SECONDS = 15.0  # also write and pool: how long one request may wait at each stage
MAX_CONNECTIONS = 20
USER_AGENT = "Wayfinder (onboarding bot)"


def lean_httpx() -> None:
    """Import httpx without its command line (`httpx._main`), which it imports eagerly whenever
    click, rich and pygments are installed (about 5 MB and 80 modules never used); httpx then
    keeps a `main` of its own that says the command line cannot run."""
    import_lean("httpx", block=("httpx._main",))


def new_client(connect: float = CONNECT_SECONDS, read: float = READ_SECONDS) -> httpx.AsyncClient:
    """A client with deadlines on every stage, no redirects followed, a bounded pool."""
    lean_httpx()
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(read, connect=connect),
        limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=10),
        headers={"User-Agent": USER_AGENT}, follow_redirects=False)


class SharedHttp:
    """The process's client, opened by its first user and closed after its last."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._users = 0

    async def acquire(self) -> httpx.AsyncClient:
        # No await before the count changes: takers and givers on one loop never interleave.
        if self._client is None or self._client.is_closed:
            self._client = new_client()
        self._users += 1
        return self._client

    async def release(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    @property
    def users(self) -> int:
        return self._users


SHARED_HTTP = SharedHttp()
