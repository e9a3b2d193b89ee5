"""The Telegram adapter driving the real python-telegram-bot against a Bot API stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.telegram import TelegramAdapter
from bot.app import App
from bot.config import TelegramConfig
from tests.harness import FakeClock, make_config
from tests.telegram_api import BotApi, Sent


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    server = await BotApi().start()
    yield server
    await server.stop()


def telegram_config(api: BotApi, **overrides: object) -> TelegramConfig:
    values: dict[str, object] = {"enabled": True, "token_env": "TG", "base_url": api.url,
                                 "poll_timeout_seconds": 1, "request_timeout_seconds": 2,
                                 **overrides}
    return TelegramConfig.model_validate(values)


class TelegramBot:
    """The app with the Telegram adapter running, as `wayfinder run` would have it."""

    def __init__(self, db_url: str, api: BotApi, **overrides: object) -> None:
        self.api = api
        self.adapter = TelegramAdapter(telegram_config(api, **overrides), api.token)
        self.app = App(make_config(db_url), [self.adapter], clock=FakeClock())
        self._serve: object = None

    async def __aenter__(self) -> TelegramBot:
        import asyncio

        await self.app.start(tick=False)
        self._task = asyncio.create_task(self.app.serve())
        await asyncio.wait_for(self.adapter._ready.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.app.stop()
        await self._task
        await self.app.close()

    async def says(self, text: str, expect: int = 1, **kw: object) -> list[Sent]:
        before = len(self.api.sent)
        self.api.user_says(text, **kw)  # type: ignore[arg-type]
        sent = await self.api.wait_sent(before + expect)
        return sent[before:]


async def test_private_start_through_discovery_with_inline_keyboards(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        sent = await bot.says("/start", expect=2)
        assert sent[0].text.startswith("Hi, I'm Wayfinder!")
        question = sent[1]
        assert question.text.startswith("What are you interested in?")
        labels = [b["text"] for b in question.buttons]
        assert labels[:3] == ["community", "accessibility", "automation"]
        assert "1) community" not in question.text  # buttons, not numbered lines
        before = len(api.sent)
        api.press(question, "3")  # "automation"
        sent = (await api.wait_sent(before + 2))[before:]
        edited = next(s for s in sent if s.method == "editMessageText")
        assert edited.text.endswith("✓ automation")
        assert any(s.text.startswith("What are you good at") for s in sent)
        await bot.says("/skip")
        sent = await bot.says("python")
        assert sent[0].text.startswith("These projects fit you best:")
        assert sent[0].buttons[0]["text"] == "Pagebot"
        assert ("setmycommands", ) == tuple(c[0] for c in api.calls if c[0] == "setmycommands")


async def test_group_start_gives_a_deep_link_that_opens_the_projects_path(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        sent = await bot.says("/start@wayfinder_test_bot", chat_id=-100123,
                              chat_type="supergroup", chat_username="lumen_pagebot")
        assert sent[0].chat_id == -100123
        link = sent[0].buttons[0]["url"]
        assert link == "https://t.me/wayfinder_test_bot?start=lumen_pagebot"
        sent = await bot.says("/start lumen_pagebot")  # what following the link sends
        assert sent[0].chat_id == 1001
        assert sent[0].text.startswith("Welcome to Pagebot!")
        assert [b["text"] for b in sent[0].buttons] == ["Start the Pagebot workshop",
                                                        "Show me other projects"]


async def test_forwarded_commands_and_channel_posts(sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        api.user_says("/start", forwarded=True)
        sent = await bot.says("/status")  # only the real command is answered
        assert sent[0].text.startswith("Your path:")
        assert len(api.to_chat(1001)) == 1
        store = bot.app.store
        counts = await store.message_counts()
        assert sum(counts.values()) == 1
