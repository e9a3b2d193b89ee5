"""Scripted transcripts of the whole growth path through the memory adapter."""

from __future__ import annotations

import re

from adapters.memory import MemoryAdapter
from bot.model import Network
from tests.harness import FakeClock, Harness, make_config

PAGEBOT_ANSWERS = ["done", "main", "1", "pytest tests/unit", "done",
                   "https://code.lumen.test/pagebot/pagebot/-/merge_requests/42"]


async def test_whole_path_discovery_workshop_certificate_first_task(db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        reply = await bot.say("ada", "!start")
        assert "Hi, I'm Wayfinder" in reply
        assert "What are you interested in?" in reply
        assert "1) community" in reply
        assert "automation" in reply

        reply = await bot.say("ada", "automation, 5")  # a word and a number
        assert "What are you good at" in reply
        reply = await bot.say("ada", "I like scripting")
        assert "Which programming languages" in reply
        reply = await bot.say("ada", "!4")  # python, answered the IRC way
        assert reply.startswith("These projects fit you best:")
        first_card = reply.split("\n\n")[1]
        assert first_card.startswith("* Pagebot:")
        assert "Why: your interest in automation, data; your skills in scripting; you code in " \
               "python" in first_card
        assert "Docs: https://docs.lumen.test/pagebot/" in first_card
        assert "Support: #pagebot (irc)" in first_card
        assert "Mentors: Amara (@amara:lumen.test on Matrix), Tomasz (tomasz on IRC)" in first_card
        assert "!more for other suggestions" in reply

        reply = await bot.say("ada", "pagebot")
        assert "Great choice: Pagebot." in reply
        assert "Get started with Pagebot: step 1 of 6, Install Python and Git" in reply

        reply = await bot.say("ada", "done")
        assert "step 2 of 6, Get the code" in reply
        assert "Checkpoint: Which branch" in reply
        reply = await bot.say("ada", "master")
        assert reply == ("That's not quite it. Have another look at the instructions and "
                         "try again.")
        reply = await bot.say("ada", "main")
        assert "step 3 of 6" in reply
        reply = await bot.say("ada", "!1")
        assert "step 4 of 6, Run the tests" in reply
        reply = await bot.say("ada", "PyTest  tests/unit")
        assert "step 5 of 6, Make a first change" in reply
        assert "!skip to skip it" in reply
        reply = await bot.say("ada", "!skip")
        assert "step 6 of 6, Ask for review" in reply
        reply = await bot.say("ada", "https://example.org/not-a-review")
        assert "That link doesn't fit this step: it points to example.org" in reply
        reply = await bot.say("ada", "https://code.lumen.test/pagebot/pagebot/-/merge_requests/7")
        assert 'You finished "Get started with Pagebot". Congratulations!' in reply
        code = re.search(r"certificate code is ([A-Z0-9]{4}-[A-Z0-9]{4})", reply)
        assert code is not None
        assert "Here is a first task picked for you." in reply
        # skills: scripting + python -> the python task that comes first in the file
        assert "Your task: Fix the typo in the help text of the `replace` script" in reply
        assert "Mentors: Amara (@amara:lumen.test on Matrix), Tomasz (tomasz on IRC)" in reply

        assert "What name should your certificate carry? Type !name" in reply
        found = await bot.running.store.certificate(code.group(1))
        assert found is not None
        assert (found.holder, found.workshop_id) == ("", "pagebot-get-started")  # no key
        reply = await bot.say("ada", "!name  Ada   Lovelace")
        assert 'Your certificates now carry the name "Ada Lovelace".' in reply
        assert f"Certificate {code.group(1)}: Get started with Pagebot." in reply
        assert f"wayfinder certificate verify {code.group(1)}" in reply  # no file: how to check
        found = await bot.running.store.certificate(code.group(1))
        assert found is not None
        assert found.holder == "Ada Lovelace"

        reply = await bot.say("ada", "!status")
        assert "[x] 1. Find your project: Pagebot" in reply
        assert "[x] 2. Get started: Get started with Pagebot, done" in reply
        assert ('[>] 3. First task: working on "Fix the typo in the help text of the `replace` '
                'script"') in reply
        assert "Next: finish your task and type !done." in reply

        reply = await bot.say("ada", "!done")
        assert "Well done" in reply
        reply = await bot.say("ada", "!status")
        assert "[>] 4. Get involved: 1 task done" in reply
        reply = await bot.say("ada", "!task")
        assert "Your task: Add type hints" in reply or "Your task:" in reply


async def test_start_in_a_project_channel_offers_that_project_first(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url), networks=("irc",)) as bot:
        reply = await bot.say("bea", "!start", network="irc", room="#mapview")
        assert reply.startswith("Welcome to Mapview!")
        assert "1) Start the Mapview workshop" in reply
        assert "2) Show me other projects" in reply
        reply = await bot.say("bea", "1", network="irc", room="#mapview")
        assert "Great choice: Mapview." in reply
        assert "Get started with Mapview: step 1 of 6" in reply


async def test_project_channel_other_projects_are_one_command_away(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url), networks=("irc",)) as bot:
        await bot.say("cy", "!start", network="irc", room="#mapview")
        reply = await bot.say("cy", "!skip", network="irc", room="#mapview")
        assert reply.startswith("All projects:")
        for name in ("Handbook", "Lingo", "Mapview", "Pagebot"):
            assert f"* {name}:" in reply
        reply = await bot.say("cy", "2", network="irc", room="#mapview")
        assert "Great choice: Lingo." in reply


async def test_a_channel_of_another_network_is_not_a_project_channel(bot: Harness) -> None:
    reply = await bot.say("cyd", "!start", room="#mapview")  # "memory" has no such channel
    assert "What are you interested in?" in reply


async def test_more_and_back_in_suggestions(bot: Harness) -> None:
    await bot.script("dee", ["!start", "maps", "!skip", "!skip"])
    reply = await bot.say("dee", "!more")
    assert reply.startswith("Here are more projects (4 to 4 of 4; the numbers below are these):")
    assert reply.count("\n* ") == 1  # 4 projects, pages of 3
    reply = await bot.say("dee", "!back")
    assert "Which programming languages" in reply


async def test_workshop_back_and_unskippable_step(bot: Harness) -> None:
    await bot.script("eve", ["!start", "!skip", "!skip", "!skip", "Handbook"])
    reply = await bot.say("eve", "!skip")
    assert "can't be skipped" in reply
    await bot.say("eve", "done")
    reply = await bot.say("eve", "!back")
    assert "step 1 of 4, Read like a newcomer" in reply


async def test_help_is_context_aware(bot: Harness) -> None:
    reply = await bot.say("fay", "!help")
    assert "Right now you can use" not in reply
    assert "!start:" in reply
    assert "!status:" in reply
    await bot.say("fay", "!start")
    reply = await bot.say("fay", "!help")
    assert "Right now you can use:\n  !skip:" in reply
    await bot.script("fay", ["!skip", "!skip", "!skip"])
    reply = await bot.say("fay", "!help")
    assert "!more: show more options or suggestions" in reply
    assert "!back: go back one step" in reply


async def test_stop_leaves_the_path_and_keeps_progress(bot: Harness) -> None:
    await bot.script("gus", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"])
    reply = await bot.say("gus", "!stop")
    assert "Your progress is kept: type !start any time to continue from where you " \
        "stopped." in reply
    assert await bot.say("gus", "hello") == (  # the path's hint, in the core's greeting
        "Hi! I'm Wayfinder. Type !start to find a project and get started, or !help to see "
        "what I can do.")
    reply = await bot.say("gus", "!start")  # no questions again: the step they stopped at
    assert reply.startswith("Welcome back! Picking up where you stopped.")
    assert "step 2 of 6, Get the code" in reply
    assert "What are you interested in?" not in reply


async def test_idle_claim_is_released_politely(sqlite_url: str) -> None:
    clock = FakeClock()
    config = make_config(sqlite_url, flows={"claim_idle_after": "3d"},
                         mentoring={"stuck_after": "30d"})
    async with Harness(config, clock=clock) as bot:
        await bot.script("hal", ["!start", "!skip", "!skip", "!skip", "Handbook"])
        await bot.script("hal", ["done", "[Lumen](https://lumen.test)", "done"])
        reply = await bot.say("hal", "https://code.lumen.test/handbook/handbook/-/merge_requests/3")
        assert "Your task:" in reply
        clock.advance(days=2)
        assert await bot.running.engine.scan_due() == 0
        await bot.say("hal", "still working on it")  # activity keeps the claim
        clock.advance(days=2, hours=23)
        assert await bot.running.engine.scan_due() == 0
        clock.advance(hours=2)
        adapter: MemoryAdapter = bot.adapters["memory"]
        before = len(adapter.sent)
        assert await bot.running.engine.scan_due() == 1
        await bot.running.dispatcher.drain(5)
        assert ("I've released the task \"Fix the four broken links on the 'Your first patch' "
                "page\" for you") in adapter.sent[before].text
        assert await bot.running.store.active_claim(
            await bot.running.store.person_for(adapter.identity("hal"))) is None
        assert await bot.running.engine.scan_due() == 0  # once, not every tick
        reply = await bot.say("hal", "!task")
        assert "Your task:" in reply


async def test_a_task_is_not_handed_to_two_people(bot: Harness) -> None:
    people = [f"p{n}" for n in range(5)]
    for who in people:
        await bot.script(who, ["!start", "!skip", "!skip", "!skip", "Lingo"])
    # three tasks: the first three who ask get one each, the others are told honestly
    replies = [await bot.say(who, "!task") for who in people]
    titles = [re.search(r"Your task: (.*)", r) for r in replies]
    given = [t.group(1) for t in titles if t]
    assert len(given) == 3
    assert len(set(given)) == 3
    assert sum("are taken or done right now" in r for r in replies) == 2
    # one claim at a time per person: asking again shows the same task
    again = await bot.say(people[0], "!task")
    assert re.search(r"Your task: (.*)", again).group(1) == given[0]  # type: ignore[union-attr]


async def test_network_name_in_identity_for_other_networks(sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url), networks=("irc", "matrix")) as bot:
        reply = await bot.say("ivy", "!start", network="irc")
        assert "What are you interested in?" in reply
        assert bot.adapters["irc"].network == Network("irc")


async def test_only_featured_projects_are_suggested_but_all_can_be_browsed(
        sqlite_url: str) -> None:
    from dataclasses import replace

    from bot.content import Content
    from bot.wiring import load_content
    from flows.path.content import PathContent
    from tests.harness import CONTENT

    loaded = load_content(CONTENT)
    path = loaded.of(PathContent)
    hidden = path.projects["pagebot"].model_copy(update={"featured": False})
    content = Content({**loaded.parts,
                       PathContent: replace(path, projects={**path.projects, "pagebot": hidden})})
    bot = Harness(make_config(sqlite_url))
    async with bot:
        bot.running.engine.content = content
        reply = await bot.script("kim", ["!start", "automation", "scripting", "python"])
        assert "* Pagebot:" not in reply
        assert "* Pagebot:" in await bot.say("kim", "!skip")
