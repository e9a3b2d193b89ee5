"""Telegram hands a getUpdates batch to the core's inbound processor at once: a chat whose
turn is slow does not hold up the others, each person stays in order, and the offset is
confirmed only past what was handled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from adapters.telegram.client import TelegramAdapter
from bot.inbound import InboundProcessor
from bot.model import Inbound
from bot.ports import Outcome
from tests.telegram_api import BotApi
from tests.test_telegram import telegram_config


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    server = await BotApi().start()
    yield server
    await server.stop()


async def test_a_slow_chat_does_not_hold_up_the_other_chats_of_its_batch(api: BotApi) -> None:
    gate, others_done = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handle(inbound: Inbound) -> Outcome:
        if inbound.text == "slow":
            await gate.wait()  # a turn stuck behind something slow
        handled.append(inbound.text)
        if inbound.text == "second":
            others_done.set()
        return Outcome.COMMITTED

    slow = api.user_says("slow", user_id=1001)
    api.user_says("first", user_id=1002)
    last = api.user_says("second", user_id=1002)
    adapter = TelegramAdapter(telegram_config(api), api.token)
    running = asyncio.create_task(adapter.run(InboundProcessor(handle, max_in_flight=4)))
    try:
        await asyncio.wait_for(others_done.wait(), 5)  # while the slow one still runs
        assert handled == ["first", "second"]
        offsets = [int(p.get("offset") or 0) for m, p in api.calls if m == "getupdates"]
        assert max(offsets) <= slow  # nothing confirmed past the update still being handled
        gate.set()
        await api.wait_until(lambda: any(int(p.get("offset") or 0) == last + 1
                                         for m, p in api.calls if m == "getupdates"), within=5)
        assert handled == ["first", "second", "slow"]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_the_adapter_names_its_private_chat_once_it_knows_its_username(
        api: BotApi) -> None:
    async def handle(inbound: Inbound) -> Outcome:
        return Outcome.COMMITTED

    adapter = TelegramAdapter(telegram_config(api), api.token)
    assert adapter.capabilities.reach_privately == ""
    running = asyncio.create_task(adapter.run(InboundProcessor(handle)))
    try:
        await api.wait_until(lambda: adapter.capabilities.reach_privately != "", within=5)
        assert "https://t.me/wayfinder_test_bot " in adapter.capabilities.reach_privately
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_a_slow_update_made_the_bot_poll_twice_a_second(api: BotApi) -> None:
    """Regression: while one update was being handled, each getUpdates returned it again at
    once and the next came 0.5 s later: about six calls for an update held three seconds.
    Waiting for the slow one alone (up to the long poll's 10 s) would hold others' messages
    that long: a message from someone else is still handled within HELD_REPOLL_SECONDS."""
    gate, greeted = asyncio.Event(), asyncio.Event()

    async def handle(inbound: Inbound) -> Outcome:
        if inbound.text == "slow":
            await gate.wait()
        if inbound.text == "hello":
            greeted.set()
        return Outcome.COMMITTED

    slow = api.user_says("slow", user_id=1001)
    adapter = TelegramAdapter(telegram_config(api, poll_timeout_seconds=10), api.token)
    running = asyncio.create_task(adapter.run(InboundProcessor(handle)))
    try:
        await api.wait_until(lambda: any(m == "getupdates" for m, _ in api.calls), within=5)
        await asyncio.sleep(1)
        api.user_says("hello", user_id=1002)
        loop = asyncio.get_running_loop()
        said = loop.time()
        await asyncio.wait_for(greeted.wait(), 5)
        assert loop.time() - said < 2.5  # HELD_REPOLL_SECONDS and a little
        await asyncio.sleep(max(0.0, 3 - (loop.time() - said)))  # the slow one is held ~4 s
        polls = [m for m, _ in api.calls].count("getupdates")
        assert polls <= 5, polls  # was about eight at 0.5 s a poll
        gate.set()
        await api.wait_until(lambda: any(int(p.get("offset") or 0) > slow
                                         for m, p in api.calls if m == "getupdates"), within=2)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
