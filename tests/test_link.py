"""Linking identities across networks with one-time codes."""

from __future__ import annotations

import re

from tests.harness import FakeClock, Harness, make_config


def _code(reply: str) -> str:
    found = re.search(r"!link ([A-Z0-9]{4}-[A-Z0-9]{4})", reply)
    assert found is not None, reply
    return found.group(1)


async def test_link_continues_the_path_on_the_other_network(db_url: str) -> None:
    async with Harness(make_config(db_url), networks=("irc", "matrix")) as bot:
        await bot.script("ana", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"],
                         network="irc")
        reply = await bot.say("ana", "!link", network="irc")
        assert "It works once and expires in 10 minutes." in reply
        code = _code(reply)
        reply = await bot.say("@ana:lumen.test", f"!link {code.lower()}", network="matrix")
        assert "Linked! matrix:@ana:lumen.test and irc:ana" in reply
        assert "step 2 of 6, Get the code" in reply
        reply = await bot.say("@ana:lumen.test", "main", network="matrix")
        assert "step 3 of 6" in reply
        reply = await bot.say("ana", "!status", network="irc")  # one person on both
        assert "step 3 of 6" in reply
        store = bot.running.store
        person = await store.person_for(bot.adapters["irc"].identity("ana"))
        keys = {i.key for i in await store.identities(person)}
        assert keys == {"irc:ana", "matrix:@ana:lumen.test"}
        # single use
        reply = await bot.say("eve", f"!link {code}", network="matrix")
        assert "isn't valid" in reply


async def test_link_code_expires(sqlite_url: str) -> None:
    clock = FakeClock()
    async with Harness(make_config(sqlite_url), networks=("irc", "matrix"), clock=clock) as bot:
        code = _code(await bot.say("bo", "!link", network="irc"))
        clock.advance(minutes=11)
        assert "isn't valid" in await bot.say("bo", f"!link {code}", network="matrix")


async def test_link_codes_are_rate_limited(bot: Harness) -> None:
    for _ in range(5):
        _code(await bot.say("cy", "!link"))
    assert "several link codes in the last hour" in await bot.say("cy", "!link")


async def test_wrong_codes_are_rate_limited(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url), networks=("irc", "matrix")) as bot:
        good = _code(await bot.say("di", "!link", network="irc"))
        for n in range(10):
            assert "isn't valid" in await bot.say("mallory", f"!link AAAA-AAA{n}",
                                                  network="matrix")
        reply = await bot.say("mallory", f"!link {good}", network="matrix")
        assert "Too many wrong link codes" in reply


async def test_redeeming_your_own_code_changes_nothing(bot: Harness) -> None:
    code = _code(await bot.say("ed", "!link"))
    assert "belongs to this account already" in await bot.say("ed", f"!link {code}")


async def test_link_keeps_the_further_path_and_one_task(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url), networks=("irc", "matrix")) as bot:
        # Both identities hold a task; after linking the person holds one.
        await bot.script("fy", ["!start", "!skip", "!skip", "!skip", "Lingo", "!task"],
                         network="irc")
        await bot.script("@fy:x", ["!start", "!skip", "!skip", "!skip", "Lingo", "!task"],
                         network="matrix")
        code = _code(await bot.say("fy", "!link", network="irc"))
        reply = await bot.say("@fy:x", f"!link {code}", network="matrix")
        assert "Linked!" in reply
        store = bot.running.store
        person = await store.person_for(bot.adapters["irc"].identity("fy"))
        claim = await store.active_claim(person)
        assert claim is not None
        assert len(await store.claimed_task_ids()) == 1
