"""Restarting the bot on the same database: resume, no duplicates, replays ignored."""

from __future__ import annotations

from collections import Counter

from bot.model import outbound_to_json
from bot.ports import OutboxItem, UnitOfWork
from tests.harness import Harness, make_config


async def test_restart_mid_workshop_resumes_at_the_same_step(db_url: str) -> None:
    bot = Harness(make_config(db_url))
    await bot.start()
    try:
        await bot.script("ann", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done", "main"])
        await bot.say("ann", "!pause")
        await bot.restart()
        reply = await bot.say("ann", "!resume")
        assert "step 3 of 6, Set up a development environment" in reply
        await bot.restart()
        reply = await bot.say("ann", "done")
        assert "step 4 of 6, Run the tests" in reply
        keys = Counter(s.idempotency_key for s in bot.adapters["memory"].sent)
        assert all(n == 1 for n in keys.values())
        texts = Counter(s.text for s in bot.adapters["memory"].sent)
        passed = sum(n for text, n in texts.items()
                     if text.startswith("Checkpoint passed. Nice work!"))
        assert passed == 3  # one per passed step, none twice
    finally:
        await bot.stop()


async def test_replayed_inbound_event_is_ignored(db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("bob", ["!start", "!skip", "!skip", "!skip", "Pagebot"])
        event = bot.inbound("bob", "done", event_id="evt-42")
        first = await bot.send(event)
        assert "step 2 of 6" in first[-1].text
        await bot.restart()
        assert await bot.send(event) == []  # the network re-delivered it after a reconnect
        reply = await bot.say("bob", "!status")
        assert "step 2 of 6" in reply


async def test_replies_committed_before_a_crash_are_sent_after_restart(sqlite_url: str) -> None:
    bot = Harness(make_config(sqlite_url))
    await bot.start()
    try:
        store = bot.running.store
        person = await store.person_for(bot.adapters["memory"].identity("cat"))
        message = bot.inbound("cat", "x")
        from bot.model import Outbound

        reply = Outbound(to=message.room, text="queued before the crash")
        # A unit committed but never dispatched: what a crash right after commit leaves.
        await store.commit(UnitOfWork(person, inbox=(message.network, "evt-crash"), outbox=[
            OutboxItem("memory:evt-crash:0", message.network, outbound_to_json(reply))]))
        await bot.restart()
        await bot.running.dispatcher.drain(5)
        texts = [s.text for s in bot.adapters["memory"].sent]
        assert texts.count("queued before the crash") == 1
        assert await bot.running.store.pending_outbox() == []
    finally:
        await bot.stop()
