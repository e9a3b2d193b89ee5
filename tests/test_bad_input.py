"""Bad input gets a clear reply and changes nothing."""

from __future__ import annotations

import pytest

from bot.feature import Command, Entry
from bot.ports import CommitResult, UnitOfWork
from tests.harness import Harness


async def _state(bot: Harness, who: str) -> tuple[str | None, str | None, object]:
    store = bot.running.store
    state = await store.load_state(await store.person_for(bot.adapters["memory"].identity(who)))
    assert state is not None
    return state.flow, state.step, state.data.get("path", {}).get("workshops")


async def _in_workshop(bot: Harness, who: str) -> None:
    await bot.script(who, ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"])


async def test_empty_message(bot: Harness) -> None:
    await _in_workshop(bot, "amy")
    before = await _state(bot, "amy")
    assert "empty message" in await bot.say("amy", "")
    assert "empty message" in await bot.say("amy", "   \t  ")
    assert await _state(bot, "amy") == before


async def test_hundred_kilobyte_message(bot: Harness) -> None:
    await _in_workshop(bot, "ben")
    before = await _state(bot, "ben")
    reply = await bot.say("ben", "x" * 100_000)
    assert "only read the beginning" in reply
    assert "not quite it" in reply
    assert await _state(bot, "ben") == before


async def test_control_characters_and_bidi_overrides_are_stripped(bot: Harness) -> None:
    await _in_workshop(bot, "cal")
    reply = await bot.say("cal", "\u202ema\x00i\x07n\u202c\r")
    assert "step 3 of 6" in reply  # read as "main" once cleaned


async def test_unknown_command(bot: Harness) -> None:
    reply = await bot.say("dan", "!frobnicate now")
    assert reply.startswith("I don't know the command !frobnicate.")
    assert "!help" in reply
    await _in_workshop(bot, "dan")
    before = await _state(bot, "dan")
    reply = await bot.say("dan", "!teleport")
    assert "Here you can use: !back." in reply  # this step cannot be skipped
    assert await _state(bot, "dan") == before


async def test_choice_number_out_of_range(bot: Harness) -> None:
    await bot.script("eva", ["!start", "!skip", "!skip", "!skip"])
    reply = await bot.say("eva", "9")
    assert reply == ("There is no option 9 here: pick a number from 1 to 4, or type the word.")
    assert "There is no option 9" in await bot.say("eva", "!9")
    reply = await bot.say("eva", "1")
    assert "Great choice: Handbook." in reply


async def test_channel_chatter_is_ignored_but_commands_answered(bot: Harness) -> None:
    assert await bot.say("fin", "hello everyone", room="#general", direct=False) == ""
    assert "What are you interested in?" in await bot.say("fin", "!start", room="#general",
                                                          direct=False)


async def test_a_failing_handler_is_answered_politely_and_the_loop_lives(bot: Harness) -> None:
    async def broken(turn: object) -> None:
        raise RuntimeError("boom")

    bot.running.engine.catalog._by_word["status"] = Entry("test", Command("status", broken))
    reply = await bot.say("gil", "!status")
    assert reply.startswith("Sorry, something went wrong on my side.")
    assert "What are you interested in?" in await bot.say("gil", "!start")


async def test_a_storage_failure_is_logged_and_the_next_message_works(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    store = bot.running.store
    real_commit = store.commit
    failures = [OSError("disk I/O error")]

    async def flaky_commit(unit: UnitOfWork) -> CommitResult:
        if failures:
            raise failures.pop()
        return await real_commit(unit)

    store.commit = flaky_commit  # type: ignore[method-assign]
    assert await bot.say("hal", "!start") == ""
    assert "could not handle" in caplog.text
    assert "memory:hal" in caplog.text
    assert "What are you interested in?" in await bot.say("hal", "!start")
