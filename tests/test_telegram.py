"""The Telegram adapter driving the real python-telegram-bot against a Bot API stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Sized
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from telegram import Message

from adapters.telegram.client import ChatLimiter, TelegramAdapter, menu_calls
from adapters.telegram.config import TelegramConfig
from adapters.telegram.render import render, split_text, utf16_len
from adapters.telegram.translate import inbound_from_message
from bot.app import App, command_menu
from bot.config import I18nConfig
from bot.model import (
    Choice,
    ExternalId,
    FileRef,
    Identity,
    Network,
    Outbound,
    RoomRef,
    outbound_to_json,
)
from bot.ports import OutboxItem, OutboxRow, Outcome, UnitOfWork
from storage.repository import SqlStore
from tests.harness import FakeClock, make_config
from tests.serverkit import free_port
from tests.telegram_api import BotApi, Fault, Sent


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

    def __init__(self, db_url: str, api: BotApi, clock: FakeClock | None = None,
                 **overrides: object) -> None:
        self.api = api
        self.adapter = TelegramAdapter(telegram_config(api, **overrides), api.token,
                                       menu=command_menu())  # as `wayfinder run` has it
        self.app = App(make_config(db_url), [self.adapter], clock=clock or FakeClock())
        self._serve: object = None

    async def __aenter__(self) -> TelegramBot:
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
        # The menu comes from the commands the features declare for everyone.
        commands = api.menus[""]
        assert commands == list(command_menu().default)
        assert {"start", "help", "stuck", "link"} <= {name for name, _ in commands}
        assert "claim" not in {name for name, _ in commands}


async def test_the_command_menu_is_set_in_each_offered_language(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api):
        pass
    # Once for anyone ([i18n] default, English here), then once per offered language, named
    # as Telegram names languages: pt_BR's menu is for every app in Portuguese ("pt").
    languages = [c[1].get("language_code") for c in api.calls if c[0] == "setmycommands"]
    assert languages == [None, "en", "es", "pt"]
    english, spanish, portuguese = (dict(api.menus[code]) for code in ("", "es", "pt"))
    assert api.menus["en"] == api.menus[""]
    assert list(spanish) == list(portuguese) == list(english)  # the same commands, in order
    assert english["help"] == "This list"
    assert spanish["help"] == "Esta lista"
    assert portuguese["help"] == "Esta lista"
    assert english["stuck"] == "Ask a mentor for help"
    assert spanish["stuck"] == "Pedir ayuda a un mentor"
    assert portuguese["stuck"] == "Pedir ajuda a um mentor"
    assert spanish["start"] == "Empezar, o seguir donde lo dejaste"
    assert portuguese["start"] == "Começar, ou continuar de onde parou"


def test_a_spanish_speaking_community_gives_anyone_the_spanish_menu() -> None:
    menu = command_menu(I18nConfig(default="es", languages=("es", "pt_BR")))
    calls = menu_calls(menu)
    assert [language for language, _ in calls] == ["", "es", "pt"]  # no English one offered
    anyone = {c.command: c.description for c in calls[0][1]}
    assert anyone["help"] == "Esta lista"
    assert anyone == {c.command: c.description for c in calls[1][1]}
    assert menu_calls(command_menu(I18nConfig(default="es", languages=("es", "en"))))[2][0] == "en"


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


async def test_a_group_without_a_username_maps_to_its_project_by_chat_id(
        sqlite_url: str, api: BotApi) -> None:
    """Mapview's content names its group by chat id (room_ids): the deep link carries the
    id, and following it opens Mapview's path; a group nobody mapped opens the usual one."""
    async with TelegramBot(sqlite_url, api) as bot:
        sent = await bot.says("/start", chat_id=-1002000000042, chat_type="supergroup")
        link = sent[0].buttons[0]["url"]
        assert link == "https://t.me/wayfinder_test_bot?start=-1002000000042"
        sent = await bot.says("/start -1002000000042")  # what following the link sends
        assert sent[0].text.startswith("Welcome to Mapview!")
        (other,) = await bot.says("/start", chat_id=-1009, chat_type="supergroup")
        sent = await bot.says(f"/start {other.buttons[0]['url'].split('=')[1]}", expect=2,
                              user_id=1002)
        assert sent[0].text.startswith("Hi, I'm Wayfinder!")


async def test_a_mentor_claims_a_case_with_the_button_on_its_ping(
        sqlite_url: str, api: BotApi) -> None:
    """Lucia mentors Mapview and is pinged on Telegram: the ping carries a Claim button. Her
    press is answered (the spinner stops), the button's message is marked, the case is hers,
    and the newcomer hears so."""
    lucia = 201334455
    clock = FakeClock(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))  # 12:00 in Sao Paulo
    async with TelegramBot(sqlite_url, api, clock=clock) as bot:
        (welcome,) = await bot.says("/start -1002000000042")
        before = len(api.sent)
        api.press(welcome, welcome.buttons[0]["callback_data"])  # start the workshop
        await api.wait_until(lambda: any("step 1 of" in s.text for s in api.sent[before:]), 10)
        told = await bot.says("/stuck the map stays blank", expect=2)
        (ping,) = [s for s in told if s.chat_id == lucia]
        code = ping.text.split("(case ")[1][:5]
        assert "To answer: claim it; I'll tell them you're on it" in ping.text
        assert ping.buttons == [{"text": f"Claim case {code}",
                                 "callback_data": f"!claim {code}"}]
        before = len(api.sent)
        api.press(ping, f"!claim {code}", user_id=lucia, first_name="Lucia")
        sent = (await api.wait_sent(before + 3))[before:]
        assert await bot.app.dispatcher.drain(5)
        assert len(api.answered) == 2  # the workshop's button and the claim
        marked = next(s for s in sent if s.method == "editMessageText")
        assert (marked.chat_id, int(marked.params["message_id"])) == (lucia, ping.message_id)
        assert marked.text.endswith(f"✓ Claim case {code}")
        mine = next(s.text for s in sent if s.chat_id == lucia and s.method == "sendMessage")
        assert mine.startswith(f"Case {code} is yours")
        newcomer = next(s for s in sent if s.chat_id == 1001)
        # Lucia's Telegram id is a number, no address: her name is a link to her instead.
        assert newcomer.text == (f"Good news: Lucia will help you with case {code}. You can "
                                 "reach them as @lucia:lumen.test on matrix.")
        assert newcomer.params["text"].startswith(
            f'Good news: <a href="tg://user?id={lucia}">Lucia</a> will help you')
        # And the newcomer, known to the bot only by their number, is a link in her ping.
        assert ping.params["text"].startswith(
            '<a href="tg://user?id=1001">A newcomer</a> needs help with Mapview')
        assert mine.startswith(f"Case {code} is yours: the newcomer, stuck on")
        # Pressed again (a second tap before the mark arrived): told, not claimed twice.
        before = len(api.sent)
        api.press(ping, f"!claim {code}", user_id=lucia, first_name="Lucia")
        again = (await api.wait_sent(before + 2))[before:]
        assert any(f"You took case {code} already: it's yours." in s.text for s in again), again
        assert sum(s.text.startswith("Good news") for s in api.to_chat(1001)) == 1


async def test_a_private_answer_asked_in_a_group_goes_to_the_private_chat(
        sqlite_url: str, api: BotApi) -> None:
    """Regression: `/link` in a group posted the one-time code to the group, where any member
    could redeem it. Before the person has started a private chat, the group gets only the
    way there; afterwards the answer goes to their private chat, the group only hears so."""
    api.only_started_chats = True
    group = partial(TelegramBot.says, chat_id=-100123,
                    chat_type="supergroup")
    async with TelegramBot(sqlite_url, api) as bot:
        (refusal,) = await group(bot, "/link")
        assert refusal.chat_id == -100123
        assert refusal.text == ("I answer !link only in a private conversation, so that others "
                             "can't see it. Please open https://t.me/wayfinder_test_bot (tap "
                             "Start if asked) and send: /link")
        assert api.to_chat(1001) == []
        await bot.says("/start", expect=2)  # what opening the link and tapping Start sends
        sent = await group(bot, "/link", expect=2)
        by_chat = {s.chat_id: s.text for s in sent}
        # The group hears so, with a mention of Ada that is a link to her.
        assert by_chat[-100123] == ("Ada: I've answered your !link in a private message, so "
                                    "that others can't see it.")
        (told,) = [s for s in sent if s.chat_id == -100123]
        assert told.params["text"].startswith('<a href="tg://user?id=1001">Ada</a>: ')
        assert "Your link code is" in by_chat[1001]
        assert "code" not in by_chat[-100123].lower()


async def test_forwarded_commands_and_channel_posts(sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        api.user_says("/start", forwarded=True)
        sent = await bot.says("/status")  # only the real command is answered
        assert sent[0].text.startswith("Your path:")
        assert len(api.to_chat(1001)) == 1
        store = bot.app.store
        counts = await store.message_counts()
        assert sum(counts.values()) == 1


async def test_a_burst_to_a_hundred_chats_keeps_every_rate_and_loses_nothing(
        sqlite_url: str, api: BotApi) -> None:
    rate = 50.0
    async with TelegramBot(sqlite_url, api, messages_per_second=rate) as bot:
        store = bot.app.store
        api.inject("sendMessage", Fault("429", retry_after=1))
        rows: list[OutboxRow] = []
        for chat in range(2000, 2100):
            person = await store.person_for(Identity(Network("telegram"), ExternalId(str(chat)),
                                                     True))
            room = RoomRef(Network("telegram"), str(chat), "", True)
            result = await store.commit(UnitOfWork(person, outbox=[
                OutboxItem(f"burst:{chat}:{n}", Network("telegram"),
                           outbound_to_json(Outbound(room, f"reply {n} to {chat}")))
                for n in range(3)]))
            rows.extend(result.outbox)
        bot.app.dispatcher.enqueue(rows)
        assert await bot.app.dispatcher.drain(60)
    sent = [s for s in api.sent if s.method == "sendMessage"]
    assert sorted(s.text for s in sent) == sorted(
        f"reply {n} to {chat}" for chat in range(2000, 2100) for n in range(3))  # none lost
    stamps = sorted(s.at for s in sent)
    for start in stamps:  # overall: never more than the rate in any one-second window
        assert sum(1 for t in stamps if start <= t < start + 1) <= rate + 1
    for chat in range(2000, 2100):  # per chat: one a second, in order
        mine = [s for s in sent if s.chat_id == chat]
        assert [s.text for s in mine] == [f"reply {n} to {chat}" for n in range(3)]
        assert all(b.at - a.at >= 0.99 for a, b in itertools.pairwise(mine))
    (kind, at), = api.fault_at
    assert kind == "429"
    # The whole bot waited. Requests other lanes had already issued when the 429 came back
    # may still arrive just after it (seen under three busy pytest workers); a bot that
    # ignored the 429 would go on at 50/s, about 47 sends inside the window.
    late = [s.at - at for s in sent if at < s.at < at + 0.95]
    assert len(late) <= 2, late
    assert all(delay < 0.25 for delay in late), late


async def test_group_limit_of_twenty_a_minute(sqlite_url: str, api: BotApi) -> None:
    limiter = ChatLimiter(per_second=1000, group_per_minute=3)
    loop_time = asyncio.get_running_loop().time
    began = loop_time()
    for _ in range(3):
        await limiter.wait(-5)
    assert loop_time() - began < 0.5
    limiter._group[-5][0] -= 59.5  # as if the first message went out 59.5 s ago
    await limiter.wait(-5)
    assert loop_time() - began >= 0.45
    limiter._last[-5] -= 120  # quiet for two minutes: forgotten, nothing left to track
    limiter._forget_quiet_chats(time.monotonic() - 60)
    assert (limiter._last, limiter._group, limiter._locks) == ({}, {}, {})


async def test_send_failures_retry_dead_or_unknown(sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api, request_timeout_seconds=0.5) as bot:
        api.inject("sendMessage", Fault("502"), Fault("timeout", seconds=1.5))
        bot.app.dispatcher.config = bot.app.dispatcher.config.model_copy(
            update={"first_retry_seconds": 0.05})
        store = bot.app.store
        person = await store.person_for(Identity(Network("telegram"), ExternalId("3001"), True))
        room = RoomRef(Network("telegram"), "3001", "", True)
        result = await store.commit(UnitOfWork(person, outbox=[
            OutboxItem("f:1", Network("telegram"), outbound_to_json(Outbound(room, "first"))),
            OutboxItem("f:2", Network("telegram"), outbound_to_json(Outbound(room, "second"))),
        ]))
        bot.app.dispatcher.enqueue(result.outbox)
        assert await bot.app.dispatcher.drain(20)
        # 502 then a retry; the second timed out after Telegram recorded it: not sent again.
        assert [s.text for s in api.to_chat(3001)] == ["first", "second"]
        counts = await store.outbox_counts()
        assert counts == {"sent": 1, "unknown": 1}
        (unknown,) = await store.dead_letters()
        assert "may have been delivered" in unknown.last_error


HOSTILE_PARTS = ["<b>", "</i>", "<a href=\"tg://user?id=1\">me</a>", "&", "&amp;", "&lt;", "<",
                 ">", "*bold*", "_italic_", "`code`", "[link](tg://user?id=1)", "~~", "||",
                 "tg://resolve?domain=evil", "\u202eevil\u202c", "\u2066rtl\u2069", "\u200f",
                 "<script>alert(1)</script>", "]]>", "<!--", "😀", "𝕏", "\n", "\\", "'\"",
                 "<tg-spoiler>", "&#x3C;", "@admin", "/start", "<pre>", "中文", "עברית"]


def webhook_bot(sqlite_url: str, api: BotApi) -> tuple[TelegramBot, int]:
    """A bot in webhook mode on a free loopback port, with the secret token "s3cret-token"."""
    port = free_port()
    bot = TelegramBot(sqlite_url, api, mode="webhook", webhook_port=port,
                      webhook_url="https://bot.example.test/telegram")
    bot.adapter.webhook_secret = "s3cret-token"
    return bot, port


def status_update(update_id: int) -> dict[str, object]:
    """Ada's `/status` in her private chat, as Telegram posts it to a webhook."""
    return {"update_id": update_id, "message": {
        "message_id": 1, "date": 0, "text": "/status",
        "chat": {"id": 1001, "type": "private", "first_name": "Ada"},
        "from": {"id": 1001, "is_bot": False, "first_name": "Ada"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}}


def hostile_strings(count: int) -> list[str]:
    import random

    rng = random.Random(20261124)
    return ["".join(rng.choice(HOSTILE_PARTS) for _ in range(rng.randint(1, 8))) + f" #{n}"
            for n in range(count)]


async def test_hostile_text_renders_exactly_and_never_breaks_entities(
        sqlite_url: str, api: BotApi) -> None:
    texts = hostile_strings(500)
    async with TelegramBot(sqlite_url, api, messages_per_second=2000,
                           per_chat_per_second=1000) as bot:
        await asyncio.gather(*(
            bot.adapter.send(Outbound(RoomRef(Network("telegram"), str(5000 + n), "", True),
                                      text, (Choice("k", text[:60]),)), f"h{n}")
            for n, text in enumerate(texts)))
    sent = {s.chat_id: s for s in api.sent}
    assert not [c for c in api.calls if "can't parse" in str(c)]
    for n, text in enumerate(texts):
        message = sent[5000 + n]
        assert message.text == text  # what the person reads is what the bot meant
        assert message.buttons[0]["text"] == text[:60]


def _at_least(calls: Sized, count: int) -> bool:
    return len(calls) >= count


async def _start_bot(config: Path, api: BotApi) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "-c", str(config), cwd=config.parent,
        env={**os.environ, "TG_TOKEN": api.token}, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    calls_before = len(api.calls)
    try:  # ready once it asks for updates
        await api.wait_until(lambda: any(c[0] == "getupdates"
                                         for c in api.calls[calls_before:]), 20)
    except TimeoutError:
        proc.kill()
        err = await proc.stderr.read() if proc.stderr else b""
        raise AssertionError(f"the bot did not start polling: {err.decode()}") from None
    return proc


async def test_kill_9_mid_conversation_loses_nothing_and_handles_nothing_twice(
        tmp_path: Path, api: BotApi) -> None:
    db = tmp_path / "wayfinder.db"
    config = tmp_path / "wayfinder.toml"
    config.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{db}"\n'
                      '[adapters.telegram]\nenabled = true\ntoken_env = "TG_TOKEN"\n'
                      f'base_url = "{api.url}"\npoll_timeout_seconds = 1\n'
                      'messages_per_second = 200\nper_chat_per_second = 100\n')
    people = list(range(7001, 7011))
    script = ["/start", "/skip", "/skip", "/skip", "Pagebot", "done", "main"]
    proc = await _start_bot(config, api)
    try:
        for step, line in enumerate(script):
            calls_before = len(api.calls)
            for person in people:
                api.user_says(line, user_id=person)
            if step in (2, 4):  # mid-conversation, while the updates are being handled
                await api.wait_until(partial(_at_least, api.calls, calls_before + 3), 10)
                proc.kill()
                await proc.wait()
                proc = await _start_bot(config, api)
        try:  # every person gets to step 3
            await api.wait_until(lambda: all(any("step 3 of 6" in s.text for s in api.to_chat(p))
                                             for p in people), 30)
        except TimeoutError:
            last = {p: [s.text[:30] for s in api.to_chat(p)][-3:] for p in people}
            raise AssertionError(f"not everyone reached step 3: {last}") from None
    finally:
        proc.terminate()
        await proc.wait()
    async with SqlStore.open(f"sqlite+aiosqlite:///{db}") as store:
        for person in people:
            pid = await store.person_for(Identity(Network("telegram"), ExternalId(str(person)),
                                                  True))
            state = await store.load_state(pid)
            assert state is not None
            assert state.data["messages"] == len(script)  # each update handled exactly once
            assert state.data["path"]["workshops"]["pagebot-get-started"] == 2


async def test_documents_are_sent_as_files(sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        room = RoomRef(Network("telegram"), "8001", "", True)
        await bot.adapter.send(Outbound(room, "Your certificate <3", file=FileRef(
            "certificate.txt", "text/plain", b"Certified")), "doc")
    (sent,) = [s for s in api.sent if s.method == "sendDocument"]
    assert sent.chat_id == 8001
    assert sent.params["caption"] == "Your certificate &lt;3"
    assert sent.params["document"] == "certificate.txt"


async def test_mydata_arrives_as_a_json_document(sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        await bot.says("/start", expect=2)
        before = len(api.sent)
        api.user_says("/mydata")
        sent = (await api.wait_sent(before + 1))[before:]
        (document,) = [s for s in sent if s.method == "sendDocument"]
        assert document.params["document"].startswith("wayfinder-mydata-")
        assert document.params["caption"].startswith("Here is everything I hold about you")
        data = json.loads(document.params["document:bytes"])
        assert data["identities"] == [f"telegram:{document.chat_id}"]
        assert data["tables"]["flow_state"]


async def test_a_certificate_arrives_as_a_pdf_document(sqlite_url: str, api: BotApi) -> None:
    import io

    import pypdf

    # No flood limits: the whole workshop is a score of messages to one chat.
    async with TelegramBot(sqlite_url, api, per_chat_per_second=100.0,
                           messages_per_second=100.0) as bot:
        await bot.says("/name Ada Lovelace")  # chosen before: the certificate comes at once
        for line in ["/start", "/skip", "/skip", "/skip", "Pagebot", "done", "main", "1",
                     "pytest tests/unit", "/skip",
                     "https://code.lumen.test/pagebot/pagebot/-/merge_requests/7"]:
            await bot.says(line)
        for _ in range(200):
            documents = [s for s in api.sent if s.method == "sendDocument"]
            if documents:
                break
            await asyncio.sleep(0.05)
        assert documents, "\n---\n".join(x.text[:150] for x in api.sent[-8:])
        (document,) = documents
        assert document.params["document"].startswith("certificate-")
        assert document.params["document"].endswith(".pdf")
        text = pypdf.PdfReader(io.BytesIO(document.params["document:bytes"])).pages[0] \
            .extract_text()
        assert "Ada Lovelace" in text
        assert "Get started with Pagebot" in text


async def test_the_watchdog_restarts_a_stalled_poll(sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api, poll_timeout_seconds=1,
                           request_timeout_seconds=1) as bot:
        api.stall(True)  # getUpdates hangs, as a dead connection would
        await asyncio.sleep(5.5)  # past 2 x (1 s poll + 1 s request)
        assert bot.adapter.polling_restarts >= 1
        api.stall(False)
        sent = await bot.says("/status")
        assert sent[0].text.startswith("Your path:")


async def test_webhook_mode_checks_the_secret_token(sqlite_url: str, api: BotApi) -> None:
    import aiohttp

    bot, port = webhook_bot(sqlite_url, api)
    update = status_update(9)
    async with bot, aiohttp.ClientSession() as http:
        webhook = f"http://127.0.0.1:{port}/telegram"
        for _ in range(50):  # the listener starts right after the bot is ready
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.post(webhook, json=update) as wrong:
                    assert wrong.status == 403  # no secret: refused
                    break
            await asyncio.sleep(0.1)
        async with http.post(webhook, json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as wrong:
            assert wrong.status == 403
        secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
        async with http.post(webhook, data=b"{not json", headers=secret) as bad:
            assert bad.status == 400
        async with http.post(webhook, json=update, headers=secret) as ok:
            assert ok.status == 200
            # Telegram hears "ok" only once the update is committed: a crash re-sends it.
            assert sum((await bot.app.store.message_counts()).values()) == 1
        sent = await api.wait_sent(1)
        assert sent[0].text.startswith("Your path:")
    assert len(api.to_chat(1001)) == 1
    assert any(c[0] == "setwebhook" and c[1].get("secret_token") == "s3cret-token"
               for c in api.calls)


def _message(**fields: object) -> Message:
    data: dict[str, object] = {"message_id": 1, "date": 0, "text": "/claim K7M2Q",
                               "chat": {"id": -100, "type": "supergroup", "title": "G"},
                               "from": {"id": 42, "is_bot": False, "first_name": "Ana",
                                        "username": "ana"}, **fields}
    message = Message.de_json(data, None)
    assert message is not None
    return message


def test_people_are_their_numeric_id_and_channel_posts_hold_no_role() -> None:
    inbound = inbound_from_message(_message(), 7, "bot")
    assert inbound is not None
    assert inbound.sender.key == "telegram:42"  # never the username
    assert inbound.sender.verified
    as_channel = inbound_from_message(_message(sender_chat={"id": -200, "type": "channel",
                                                            "title": "News"}), 8, "bot")
    assert as_channel is not None
    assert as_channel.sender.key == "telegram:chat:-200"
    assert not as_channel.sender.verified
    anonymous = inbound_from_message(_message(**{"from": {"id": 1087968824, "is_bot": True,
                                                          "first_name": "Group"}}), 9, "bot")
    assert anonymous is not None
    assert not anonymous.sender.verified
    forwarded = _message(forward_origin={"type": "hidden_user", "date": 0,
                                         "sender_user_name": "x"})
    assert inbound_from_message(forwarded, 10, "bot") is None


def test_a_mention_is_a_link_to_the_person_with_their_name_escaped() -> None:
    room = RoomRef(Network("telegram"), "-100123")
    eve = Identity(Network("telegram"), ExternalId("1002"), True)
    names = {"1002": "<b>Eve</b> & \u202eco\nX" + "e" * 100}
    (part,) = render(Outbound(room, "Answered privately.", mention=eve), names.__getitem__)
    assert part.html.startswith('<a href="tg://user?id=1002">&lt;b&gt;Eve&lt;/b&gt; &amp; coX')
    assert part.html.endswith("</a>: Answered privately.")
    assert len(part.html.split(">", 1)[1].split("</a>")[0]) < 90  # the name is cut short
    (unknown,) = render(Outbound(room, "Hi", mention=eve))
    assert unknown.html == '<a href="tg://user?id=1002">you</a>: Hi'
    # Someone on another network is no Telegram link; a long text still fits with it.
    other = Outbound(room, "x" * 5000, mention=Identity(Network("irc"), ExternalId("ada"), True))
    assert not render(other)[0].html.startswith("<a")
    parts = render(Outbound(room, "x" * 5000, mention=eve), names.__getitem__)
    assert all(utf16_len(p.html) <= 4096 for p in parts)


def test_long_text_is_split_at_4096_without_cutting_a_character() -> None:
    text = ("😀" * 3000) + "\n" + ("é" * 5000)
    parts = split_text(text)
    assert "".join(parts) == text
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert len(parts) == 3
    rendered = render(Outbound(RoomRef(Network("telegram"), "1"), "<&>" * 2000,
                               (Choice("a", "A"),)))
    assert [bool(r.buttons) for r in rendered] == [False, True]
    assert rendered[0].html.startswith("&lt;&amp;&gt;")


async def test_a_group_over_its_minute_limit_never_holds_up_a_private_chat(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:  # 1 a second a chat, 20 a minute a group
        # The group used its 20 this minute: its next message waits most of a minute.
        bot.adapter.limiter._group[-500] = deque([time.monotonic() - 5] * 20)
        store = bot.app.store
        group = RoomRef(Network("telegram"), "-500", "G", False)
        newcomer = RoomRef(Network("telegram"), "77", "", True)
        person = await store.person_for(Identity(Network("telegram"), ExternalId("77"), True))
        began = time.monotonic()
        rows = (await store.commit(UnitOfWork(person, outbox=[
            *(OutboxItem(f"g:{n}", Network("telegram"),
                         outbound_to_json(Outbound(group, f"g{n}"))) for n in range(25)),
            OutboxItem("p:1", Network("telegram"), outbound_to_json(Outbound(newcomer, "hi")))
        ]))).outbox
        bot.app.dispatcher.enqueue(rows)
        await api.wait_until(lambda: bool(api.to_chat(77)), within=2)
        assert time.monotonic() - began < 1.0
        assert api.to_chat(-500) == []  # the group waits out its minute, alone


async def test_a_long_message_retried_after_part_two_fails_sends_each_part_once(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api, per_chat_per_second=100) as bot:
        bot.app.dispatcher.config = bot.app.dispatcher.config.model_copy(
            update={"first_retry_seconds": 0.05})
        lines = [f"{n}" * 4000 for n in range(1, 5)]  # four parts of 4,000 characters
        assert len(render(Outbound(RoomRef(Network("telegram"), "1"), "\n".join(lines)))) == 4
        api.inject("sendMessage", Fault("pass"), Fault("pass"), Fault("502"))
        store = bot.app.store
        person = await store.person_for(Identity(Network("telegram"), ExternalId("3002"), True))
        room = RoomRef(Network("telegram"), "3002", "", True)
        result = await store.commit(UnitOfWork(person, outbox=[
            OutboxItem("long:1", Network("telegram"),
                       outbound_to_json(Outbound(room, "\n".join(lines))))]))
        bot.app.dispatcher.enqueue(result.outbox)
        assert await bot.app.dispatcher.drain(20)
        assert [s.text.strip() for s in api.to_chat(3002)] == lines  # each part exactly once
        assert [kind for kind, _ in api.fault_at] == ["pass", "pass", "502"]
        assert await store.outbox_counts() == {"sent": 1}


async def _press_rows(store: SqlStore) -> list[tuple[str, dict[str, object], int, str]]:
    """Outbox rows that acknowledge a press: (status, body, attempts, last error)."""
    import sqlalchemy as sa

    from storage.records import outbox_t

    rows = await store._all(sa.select(outbox_t).order_by(outbox_t.c.id))
    return [(r.status, r.body, r.attempts, r.last_error) for r in rows if "press" in r.body]


async def test_a_pressed_button_is_answered_through_the_outbox_under_the_bots_rate(
        sqlite_url: str, api: BotApi) -> None:
    rate = 4.0  # evenly spaced: a quarter of a second between any two of the bot's sends
    async with TelegramBot(sqlite_url, api, messages_per_second=rate) as bot:
        question = (await bot.says("/start", expect=2))[1]
        before = len(api.sent)
        api.press(question, "3")  # "automation"
        sent = (await api.wait_sent(before + 2))[before:]
        assert await bot.app.dispatcher.drain(5)
        (press_row,) = await _press_rows(bot.app.store)
    (query_id, answered_at), = api.answered
    assert press_row[0] == "sent"  # committed with the turn, sent by the dispatcher
    assert press_row[1]["press"] == [query_id, str(question.message_id), question.text,
                                     "automation"]
    edited = next(s for s in sent if s.method == "editMessageText")
    reply = next(s for s in sent if s.text.startswith("What are you good at"))
    assert edited.text.endswith("✓ automation")
    # The answer first, then the mark and the reply, each a token of the bot's rate.
    assert answered_at < edited.at < reply.at
    assert edited.at - answered_at >= 1 / rate - 0.02
    assert reply.at - edited.at >= 1 / rate - 0.02


async def test_an_expired_callback_query_is_a_dead_letter_not_a_retry_loop(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        question = (await bot.says("/start", expect=2))[1]
        api.inject("answerCallbackQuery", Fault("400"))
        before = len(api.sent)
        api.press(question, "3")
        sent = (await api.wait_sent(before + 2))[before:]
        assert await bot.app.dispatcher.drain(5)
        (press_row,) = await _press_rows(bot.app.store)
    assert len([c for c in api.calls if c[0] == "answercallbackquery"]) == 1  # tried once
    status, _, attempts, error = press_row
    assert (status, attempts) == ("dead", 1)
    assert error.startswith("permanent: answerCallbackQuery: Query is too old")
    # The choice is still marked, and the person answered.
    assert any(s.method == "editMessageText" and s.text.endswith("✓ automation") for s in sent)
    assert any(s.text.startswith("What are you good at") for s in sent)


async def test_a_burst_of_group_starts_never_holds_up_a_private_chat(
        sqlite_url: str, api: BotApi) -> None:
    """25 /start in one group waited inline on the group's 20-a-minute limit and held the poll
    loop, so a private /start after them was answered only a minute later."""
    async with TelegramBot(sqlite_url, api) as bot:
        for n in range(25):
            api.user_says("/start@wayfinder_test_bot", user_id=2000 + n, chat_id=-100777,
                          chat_type="supergroup")
        began = time.monotonic()
        api.user_says("/start")
        await api.wait_until(lambda: bool(api.to_chat(1001)), within=5)
        assert time.monotonic() - began < 2.0
        assert api.to_chat(1001)[0].text.startswith("Hi, I'm Wayfinder!")
        await api.wait_until(lambda: bool(api.to_chat(-100777)), within=5)
        # The group's answers go out at its own pace (1 a second, 20 a minute), off the poll.
        assert 1 <= len(api.to_chat(-100777)) < 25
        assert len(bot.adapter._group_replies) == 25 - len(api.to_chat(-100777))
    assert not bot.adapter._group_replies  # cancelled when the adapter stopped


async def test_a_slow_update_never_holds_polling_and_is_confirmed_only_once_done(
        sqlite_url: str, api: BotApi) -> None:
    """The poll loop waited for every update of a batch before the next getUpdates: one slow
    update held every chat. It goes on by itself now, and the offset waits for it."""
    async with TelegramBot(sqlite_url, api) as bot:
        release = asyncio.Event()
        handle = bot.adapter._on_update
        slow_ids: list[int] = []
        started = asyncio.Event()

        async def slow_for_chat_555(update: object) -> Outcome:
            if getattr(getattr(update, "effective_chat", None), "id", None) == 555:
                slow_ids.append(update.update_id)  # type: ignore[attr-defined]
                started.set()
                await release.wait()
            return await handle(update)  # type: ignore[arg-type]

        bot.adapter._on_update = slow_for_chat_555  # type: ignore[method-assign]
        slow = api.user_says("/start", user_id=555)
        # Fetched and being handled: the private one comes in a later batch.
        await asyncio.wait_for(started.wait(), 5)
        began = time.monotonic()
        sent = await bot.says("/start", expect=2)  # chat 1001, after the slow one
        assert time.monotonic() - began < 2.0
        assert sent[0].chat_id == 1001
        offsets = [int(p.get("offset") or 0) for m, p in api.calls if m == "getupdates"]
        assert max(offsets) <= slow  # never confirmed past the unfinished update
        assert slow_ids == [slow]  # fetched again while running, but handled once
        release.set()
        await api.wait_until(lambda: bool(api.to_chat(555)), within=5)
        await api.wait_until(lambda: any(int(p.get("offset") or 0) > slow + 1
                                         for m, p in api.calls if m == "getupdates"), within=5)
        assert len(api.to_chat(555)) >= 1
