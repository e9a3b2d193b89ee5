"""Nothing confirmed before it is committed: the engine says what became of every inbound
event (committed, duplicate, ignored, failed), and adapters confirm an event to their network
only when it did not fail, so a store failure never loses a message."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.feature import Command, Entry
from bot.flow import Turn
from bot.ports import CommitResult, Outcome, UnitOfWork
from storage.repository import SqlStore
from tests.harness import Harness
from tests.matrixkit import BOT_PASSWORD, matrix_config, person, running_bot
from tests.synapse import Synapse
from tests.telegram_api import BotApi
from tests.test_telegram import TelegramBot, status_update, webhook_bot


class FailingCommits:
    """The real store's commit, failing its first `failures` calls the way a store locked
    past its busy timeout does. Counts the attempts per inbound event."""

    def __init__(self, store: SqlStore, failures: int) -> None:
        self.real = store.commit
        self.left = failures
        self.attempts: dict[str, int] = {}

    async def __call__(self, unit: UnitOfWork) -> CommitResult:
        if unit.inbox is not None:
            self.attempts[unit.inbox[1]] = self.attempts.get(unit.inbox[1], 0) + 1
        if self.left:
            self.left -= 1
            raise OperationalError("INSERT INTO inbox ...", {},
                                   sqlite3.OperationalError("database is locked"))
        return await self.real(unit)

    @classmethod
    def install(cls, store: SqlStore, failures: int) -> FailingCommits:
        failing = cls(store, failures)
        store.commit = failing  # type: ignore[method-assign]
        return failing


async def test_every_inbound_event_gets_its_outcome(bot: Harness) -> None:
    memory = bot.adapters["memory"]
    start = bot.inbound("ivy", "!start")
    assert await memory.deliver(start) is Outcome.COMMITTED
    assert await memory.deliver(start) is Outcome.DUPLICATE  # a redelivery changes nothing
    chatter = bot.inbound("ivy", "hello all", room="#general", direct=False)
    assert await memory.deliver(chatter) is Outcome.IGNORED

    async def broken(turn: object) -> None:
        raise RuntimeError("a bug in a flow")

    bot.running.engine.catalog._by_word["status"] = Entry("test", Command("status", broken))
    before = len(memory.sent)
    # A bug in a flow is answered with an apology and committed: redelivered, it stays done.
    status = bot.inbound("ivy", "!status")
    assert await memory.deliver(status) is Outcome.COMMITTED
    await bot.running.dispatcher.drain(10)
    assert [s.text for s in memory.sent[before:]] == [
        "Sorry, something went wrong on my side. Nothing was lost; please try again, or type "
        "!help."]
    assert await memory.deliver(status) is Outcome.DUPLICATE


async def test_a_store_failure_is_failed_not_committed_and_answered_once_redelivered(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    memory = bot.adapters["memory"]
    failing = FailingCommits.install(bot.running.store, failures=2)
    start = bot.inbound("jo", "!start")
    assert await memory.deliver(start) is Outcome.FAILED
    assert await memory.deliver(start) is Outcome.FAILED
    await bot.running.dispatcher.drain(10)
    assert memory.sent == []  # nothing is said for what was not committed
    assert "database is locked" in caplog.text
    assert await memory.deliver(start) is Outcome.COMMITTED  # the store is back
    assert await memory.deliver(start) is Outcome.DUPLICATE
    await bot.running.dispatcher.drain(10)
    # Two failures, the commit, and the redelivery the inbox recognised.
    assert failing.attempts[start.event_id] == 4
    texts = [s.text for s in memory.sent]
    assert len(texts) == 2
    assert texts[0].startswith("Hi, I'm Wayfinder!")
    assert "What are you interested in?" in texts[1]


@pytest.fixture
async def api() -> AsyncIterator[BotApi]:
    server = await BotApi().start()
    yield server
    await server.stop()


async def test_telegram_fetches_an_uncommitted_update_again_and_answers_it_once(
        sqlite_url: str, api: BotApi) -> None:
    async with TelegramBot(sqlite_url, api) as bot:
        failing = FailingCommits.install(bot.app.store, failures=2)
        update_id = api.user_says("/start")
        sent = await api.wait_sent(2, within=20)
        assert sent[0].text.startswith("Hi, I'm Wayfinder!")
        assert sent[1].text.startswith("What are you interested in?")
        # Handed to the bot three times: twice not committed (offset kept), then committed.
        assert failing.attempts[str(update_id)] == 3
        polls = [int(p.get("offset") or 0) for method, p in api.calls if method == "getupdates"]
        assert update_id + 1 in polls  # confirmed once committed
        confirmed_at = polls.index(update_id + 1)
        assert all(offset <= update_id for offset in polls[:confirmed_at])
        await bot.says("/status")  # later updates flow on
        await asyncio.sleep(0.5)
    assert len([s for s in api.to_chat(1001) if s.text.startswith("Hi, I'm Wayfinder!")]) == 1
    assert failing.attempts[str(update_id)] == 3


async def test_telegram_webhook_answers_non_2xx_until_the_update_is_committed(
        sqlite_url: str, api: BotApi) -> None:
    import aiohttp

    bot, port = webhook_bot(sqlite_url, api)
    update = status_update(41)
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
    async with bot, aiohttp.ClientSession() as http:
        failing = FailingCommits.install(bot.app.store, failures=1)
        webhook = f"http://127.0.0.1:{port}/telegram"
        status = 0
        for _ in range(50):  # the listener starts right after the bot is ready
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with http.post(webhook, json=update, headers=secret) as first:
                    status = first.status
                    break
            await asyncio.sleep(0.1)
        assert status == 503  # not committed: Telegram will send it again
        assert sum((await bot.app.store.message_counts()).values()) == 0
        for expected in (200, 200):  # then committed; a further re-send is a duplicate
            async with http.post(webhook, json=update, headers=secret) as again:
                assert again.status == expected
        sent = await api.wait_sent(1)
        assert sent[0].text.startswith("Your path:")
        await asyncio.sleep(0.3)
    assert len(api.to_chat(1001)) == 1
    assert failing.attempts["41"] == 3  # failed, committed, recognised as a duplicate


async def test_matrix_syncs_an_uncommitted_event_again_and_answers_it_once(
        synapse: Synapse, sqlite_url: str, tmp_path: Path) -> None:
    bot_id = await synapse.register("wayfinder", BOT_PASSWORD)
    ana = await person(synapse, "ana", tmp_path)
    try:
        room = await ana.create_room([bot_id])
        config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room],
                               conversation="room")
        async with running_bot(config, sqlite_url) as bot:
            await ana.joined(room, bot_id)
            files = bot.adapter.files
            failing = FailingCommits.install(bot.app.store, failures=2)
            token_before = await files.sync_token()
            event_id = await ana.say(room, "!start")
            _room, hello = await ana.notice(within=30)
            assert "Hi, I'm Wayfinder" in hello.body
            # Synced three times from the token before it: twice not committed, then done.
            assert failing.attempts[event_id] == 3
            assert await files.sync_token() != token_before  # saved once it was committed
            await ana.notice_containing("What are you interested in?")
            await ana.say(room, "!help")
            replies = [(await ana.notice())[1].body]
            while "this list" not in replies[-1]:
                replies.append((await ana.notice())[1].body)
            assert not any("Hi, I'm Wayfinder" in r for r in replies)  # answered once
            assert failing.attempts[event_id] == 3
    finally:
        await ana.close()


async def test_a_store_failure_inside_a_flow_is_failed_not_apologised_for_and_confirmed(
        bot: Harness) -> None:
    memory = bot.adapters["memory"]
    store = bot.running.store
    engine = bot.running.engine
    real = store.events_since
    raising: list[Exception] = [
        OperationalError("SELECT count(*) FROM event ...", {},
                         sqlite3.OperationalError("database is locked")),
        RuntimeError("a bug in a flow")]
    runs = 0

    async def events_since(*args: object, **kw: object) -> int:
        if raising:
            raise raising.pop(0)
        return await real(*args, **kw)  # type: ignore[arg-type]

    async def counted(turn: Turn) -> None:
        nonlocal runs
        runs += 1
        turn.say(f"{await turn.reads.events_since(turn.person_id, 'x', turn.now)} so far")

    store.events_since = events_since  # type: ignore[method-assign]
    engine.catalog._by_word["status"] = Entry("test", Command("status", counted))
    # The store's failure inside the flow: not the flow's bug, so no apology is committed and
    # the event is not confirmed; its redelivery is handled anew, once.
    status = bot.inbound("kim", "!status")
    assert await engine.handle(status) is Outcome.FAILED
    await bot.running.dispatcher.drain(10)
    assert memory.sent == []
    assert await store.pending_outbox() == []
    # A real bug in the flow still gets its apology, committed.
    bug = bot.inbound("kim", "!status")
    assert await engine.handle(bug) is Outcome.COMMITTED
    assert await engine.handle(status) is Outcome.COMMITTED
    assert await engine.handle(status) is Outcome.DUPLICATE
    await bot.running.dispatcher.drain(10)
    assert [s.text for s in memory.sent] == [
        "Sorry, something went wrong on my side. Nothing was lost; please try again, or type "
        "!help.", "0 so far"]  # said once: the duplicate's turn was not committed
    assert runs == 4  # failed, the bug, committed, and the duplicate the inbox recognised


async def test_an_oserror_raised_by_a_flow_is_apologised_for_and_committed_not_refetched(
        bot: Harness) -> None:
    """Any OSError counted as the store's, so a flow raising one (IsADirectoryError from
    ZoneInfo("America")) was FAILED, never answered, and Telegram fetched it forever."""
    memory = bot.adapters["memory"]

    async def broken(turn: Turn) -> None:
        raise IsADirectoryError(21, "Is a directory", "/usr/share/zoneinfo/America")

    bot.running.engine.catalog._by_word["status"] = Entry("test", Command("status", broken))
    status = bot.inbound("lou", "!status")
    assert await memory.deliver(status) is Outcome.COMMITTED
    await bot.running.dispatcher.drain(10)
    assert [s.text for s in memory.sent] == [
        "Sorry, something went wrong on my side. Nothing was lost; please try again, or type "
        "!help."]
    assert await memory.deliver(status) is Outcome.DUPLICATE


async def test_an_oserror_reaching_the_store_is_still_a_store_failure_and_failed(
        bot: Harness) -> None:
    memory = bot.adapters["memory"]
    db = bot.running.store.db
    real = db._read
    refused = [ConnectionRefusedError(111, "Connect call failed")]

    async def unreachable(fn: object) -> object:
        if refused:
            raise refused.pop()
        return await real(fn)  # type: ignore[arg-type]

    async def counted(turn: Turn) -> None:
        turn.say(f"{await turn.reads.events_since(turn.person_id, 'x', turn.now)} so far")

    bot.running.engine.catalog._by_word["status"] = Entry("test", Command("status", counted))
    await bot.say("max", "hello")
    db._read = unreachable  # type: ignore[method-assign,assignment]
    status = bot.inbound("max", "!status")
    assert await memory.deliver(status) is Outcome.FAILED  # not confirmed: fetched again
    assert await memory.deliver(status) is Outcome.COMMITTED
    await bot.running.dispatcher.drain(10)
    assert memory.sent[-1].text == "0 so far"
