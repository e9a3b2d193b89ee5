"""Telegram benchmark: `/start` to the first reply through a Bot API stand-in on loopback.

Runs the real python-telegram-bot adapter and the whole core (SQLite, synchronous=FULL) in
this process against the stand-in from the tests, and measures 500 newcomers' `/start`:
- bot_share: from the moment getUpdates handed the update to the bot to the moment the bot's
  sendMessage reached the stand-in (PTB parsing, routing, the durable commit, the outbox);
- round_trip: from the person "typing" it to the first reply arriving (adds long polling).
Flood limits are raised so that they do not queue the samples.

    python -m bench.telegram --samples 500
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from pathlib import Path
from typing import Any

from adapters.telegram.client import TelegramAdapter
from adapters.telegram.config import TelegramConfig
from bench.stats import NO_FLOODS, percentiles, sampling_main
from bot.app import App
from bot.config import config_from_dict
from tests.telegram_api import BotApi

CONTENT = Path(__file__).resolve().parent.parent / "content"


def _answered(api: BotApi, chat_id: int) -> bool:
    return bool(api.to_chat(chat_id))


async def run(samples: int, folder: Path) -> dict[str, Any]:
    api = await BotApi().start()
    config = config_from_dict({"storage": {"url": f"sqlite+aiosqlite:///{folder / 'tg.db'}"},
                               "content": {"path": str(CONTENT)},
                               "inbound": NO_FLOODS}, "(bench)", folder)
    telegram = TelegramConfig(enabled=True, token_env="TG", base_url=api.url,
                              poll_timeout_seconds=10, messages_per_second=100_000,
                              per_chat_per_second=1000)
    adapter = TelegramAdapter(telegram, api.token)
    app = App(config, [adapter])
    await app.start(tick=False)
    serving = asyncio.create_task(app.serve())
    await asyncio.wait_for(adapter._ready.wait(), 10)
    share: list[float] = []
    round_trip: list[float] = []
    for n in range(samples):
        user = 100_000 + n
        typed = time.perf_counter()
        update_id = api.user_says("/start", user_id=user)
        await api.wait_until(partial(_answered, api, user), 10)
        first = api.to_chat(user)[0]
        share.append(first.at - api.served_at[update_id])
        round_trip.append(first.at - typed)
    app.stop()
    await serving
    await app.close()
    await api.stop()
    return {"samples": samples, "bot_share": percentiles(share),
            "round_trip": percentiles(round_trip)}


def main() -> None:
    sampling_main("Time /start to first reply over Telegram.", "wayfinder-tg-", run)


if __name__ == "__main__":
    main()
