"""Serialised per person; many people at once all land on the right step."""

from __future__ import annotations

import asyncio

from tests.harness import Harness


async def test_two_messages_from_one_person_run_one_after_the_other(bot: Harness) -> None:
    await bot.script("ann", ["!start", "!skip", "!skip", "!skip", "Pagebot"])
    adapter = bot.adapters["memory"]
    first = bot.inbound("ann", "done")
    second = bot.inbound("ann", "main")
    await asyncio.gather(adapter.deliver(first), adapter.deliver(second))
    await bot.running.dispatcher.drain(5)
    reply = await bot.say("ann", "!status")
    assert "step 3 of 6" in reply  # both answers applied, in order
    assert len(bot.running.engine.locks) == 0  # keyed locks are cleaned up


async def test_hundred_people_at_once_reach_the_right_step(bot: Harness) -> None:
    people = [f"user{n}" for n in range(100)]
    adapter = bot.adapters["memory"]
    script = ["!start", "!skip", "!skip", "!skip", "Handbook", "done"]
    for line in script:
        await asyncio.gather(*(adapter.deliver(bot.inbound(p, line)) for p in people))
    await bot.running.dispatcher.drain(10)
    store = bot.running.store
    for person in people:
        state = await store.load_state(await store.person_for(adapter.identity(person)))
        assert state is not None
        assert (state.flow, state.step) == ("workshop", "step")
        assert state.data["path"]["workshops"]["handbook-get-started"] == 1
        assert state.data["messages"] == len(script)
