"""The process's shared outgoing HTTP client (bot/http.py): one for all its users, opened by
the first and closed after the last, with deadlines, and httpx loaded without its CLI."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.http import SharedHttp
from tests.test_startup import loaded_after


async def test_one_client_for_every_user_closed_after_the_last() -> None:
    shared = SharedHttp()
    first = await shared.acquire()
    second = await shared.acquire()
    assert first is second
    assert shared.users == 2
    await shared.release()
    assert not first.is_closed
    await shared.release()
    assert first.is_closed
    assert shared.users == 0
    again = await shared.acquire()  # a new start opens a new one
    assert again is not first
    assert not again.is_closed
    await shared.release()


async def test_a_slow_server_meets_the_deadline() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/", slow)
    async with TestServer(app, host="127.0.0.1") as server:
        shared = SharedHttp()
        client = await shared.acquire()
        try:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(str(server.make_url("/")), timeout=0.2)
        finally:
            await shared.release()


def test_importing_it_loads_no_httpx_and_using_it_no_cli() -> None:
    assert "httpx" not in loaded_after("import bot.http")
    used = loaded_after("import bot.http\nbot.http.new_client()")
    assert "httpx" in used
    assert used.isdisjoint({"rich", "pygments"})
