"""The forge feature's use of the process's one HTTP client (bot/http.py's SHARED_HTTP): taken
when the bot starts its services, given back when it stops. Every request passes its own short
timeout (`forge.timeout_seconds`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.http import SHARED_HTTP

if TYPE_CHECKING:
    import httpx

_client: httpx.AsyncClient | None = None


async def start() -> None:
    global _client
    if _client is None:
        _client = await SHARED_HTTP.acquire()


async def stop() -> None:
    global _client
    if _client is not None:
        _client = None
        await SHARED_HTTP.release()


def client() -> httpx.AsyncClient | None:
    """The shared client while the bot runs; None before its services started or after."""
    return None if _client is None or _client.is_closed else _client
