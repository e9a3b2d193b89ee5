"""The first-task hand-off, as newcomers met it: each test is named after what broke."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bot.model import PersonId
from tests.harness import CONTENT, Harness, make_config

LINGO = ["!start", "!skip", "!skip", "!skip", "Lingo"]
PAGEBOT_TYPO = "Fix the typo in the help text of the `replace` script"
LINGO_TASKS = ("Document how plural forms work for translators, with two examples",
               "Reject empty translations in the import check (Go, with a test)",
               "Add the native name for Yoruba to the language list")


def _task(reply: str) -> str:
    found = re.search(r"Your task: (.*)", reply)
    assert found is not None, reply
    return found.group(1)


async def _person(bot: Harness, who: str, network: str = "memory") -> PersonId:
    return await bot.running.store.person_for(bot.adapters[network].identity(who))


async def test_a_finished_task_is_not_handed_out_again(db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", LINGO)
        first = _task(await bot.say("ada", "!task"))
        assert first == LINGO_TASKS[0]
        reply = await bot.say("ada", "!done")
        assert f'I\'ve marked "{first}" as done, and it won\'t be handed to anyone else.' in reply

        # the next newcomers get the other tasks, never the finished one
        await bot.script("bea", LINGO)
        assert _task(await bot.say("bea", "!task")) == LINGO_TASKS[1]
        await bot.script("cy", LINGO)
        assert _task(await bot.say("cy", "!task")) == LINGO_TASKS[2]
        await bot.script("dee", LINGO)
        reply = await bot.say("dee", "!task")
        assert "All of Lingo's first tasks are taken or done right now." in reply
        assert "Your task:" not in reply

        # a task given back (not finished) is free again
        assert await bot.say("bea", "!release") == (
            f'Released "{LINGO_TASKS[1]}": someone else can take it now. Type !task when you '
            "want another.")
        assert _task(await bot.say("dee", "!task")) == LINGO_TASKS[1]
        # and the one who finished a task is not offered it again either
        reply = await bot.say("ada", "!task")
        assert "All of Lingo's first tasks are taken or done right now." in reply


async def test_a_repeatable_task_is_handed_out_again_after_it_is_done(
        db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    lingo = folder / "projects" / "lingo.toml"
    lingo.write_text(lingo.read_text(encoding="utf-8").replace(
        'estimate = "2h"', 'estimate = "2h"\nrepeatable = true', 1), encoding="utf-8")
    async with Harness(make_config(db_url, content={"path": str(folder)})) as bot:
        await bot.script("ada", LINGO)
        assert _task(await bot.say("ada", "!task")) == LINGO_TASKS[0]
        await bot.script("bea", LINGO)  # one holder at a time, repeatable or not
        assert _task(await bot.say("bea", "!task")) == LINGO_TASKS[1]
        await bot.say("ada", "!done")
        await bot.script("cy", LINGO)
        assert _task(await bot.say("cy", "!task")) == LINGO_TASKS[0]  # done, and offered again
        reply = await bot.say("ada", "!task")  # but not to the one who did it
        assert _task(reply) == LINGO_TASKS[2]


async def test_switching_project_while_holding_a_task_offers_keep_or_switch(
        db_url: str) -> None:
    async with Harness(make_config(db_url), networks=("irc",)) as bot:
        await bot.script("ada", ["!start", "!skip", "!skip", "!skip", "Pagebot"], "irc")
        assert _task(await bot.say("ada", "!task", "irc")) == PAGEBOT_TYPO

        reply = await bot.say("ada", "!start", "irc", room="#mapview")
        assert reply.startswith(f'You have a Pagebot task reserved: "{PAGEBOT_TYPO}". You can '
                                "hold one task at a time. Keep it and stay with Pagebot, or "
                                "give it back and switch to Mapview?")
        assert "1) Keep my Pagebot task" in reply
        assert "2) Give it back and switch to Mapview" in reply

        reply = await bot.say("ada", "1", "irc", room="#mapview")  # keep
        assert f'Kept: "{PAGEBOT_TYPO}" stays reserved for you, and you stay with Pagebot.' \
            in reply
        assert _task(reply) == PAGEBOT_TYPO
        reply = await bot.say("ada", "!status", "irc", room="#mapview")
        assert "[x] 1. Find your project: Pagebot" in reply
        assert f'3. First task: working on "{PAGEBOT_TYPO}"' in reply

        await bot.say("ada", "!start", "irc", room="#mapview")
        reply = await bot.say("ada", "2", "irc", room="#mapview")  # give it back, switch
        assert f'I\'ve given back "{PAGEBOT_TYPO}": someone else can take it now.' in reply
        assert "Great choice: Mapview." in reply
        assert "Get started with Mapview: step 1 of 6" in reply
        claim = await bot.running.store.active_claim(await _person(bot, "ada", "irc"))
        assert claim is None

        # no lock-out: a Mapview task comes, !release and !status agree with it
        reply = await bot.say("ada", "!task", "irc", room="#mapview")
        assert "Lots of people" not in reply
        mapview_task = _task(reply)
        assert mapview_task == "Give the zoom buttons accessible labels for screen readers"
        reply = await bot.say("ada", "!status", "irc", room="#mapview")
        assert "[x] 1. Find your project: Mapview" in reply
        assert f'working on "{mapview_task}"' in reply
        assert PAGEBOT_TYPO not in reply
        assert (await bot.say("ada", "!release", "irc", room="#mapview")).startswith(
            f'Released "{mapview_task}"')
        # and the Pagebot task went back to the pool
        await bot.script("bea", ["!start", "!skip", "!skip", "!skip", "Pagebot"], "irc")
        assert _task(await bot.say("bea", "!task", "irc")) == PAGEBOT_TYPO


async def test_choosing_another_project_in_discovery_while_holding_a_task_asks_first(
        db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", LINGO)
        assert _task(await bot.say("ada", "!task")) == LINGO_TASKS[0]
        await bot.script("ada", ["!start over", "!skip", "!skip", "!skip"])
        reply = await bot.say("ada", "Handbook")
        assert reply.startswith(f'You have a Lingo task reserved: "{LINGO_TASKS[0]}".')
        assert "Great choice" not in reply
        reply = await bot.say("ada", "switch")
        assert f'I\'ve given back "{LINGO_TASKS[0]}"' in reply
        assert "Great choice: Handbook." in reply


async def test_done_makes_no_promise_that_a_mentor_reviews(db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", LINGO)
        await bot.say("ada", "!task")
        adapter = bot.adapters["memory"]
        before = len(adapter.sent)
        reply = await bot.say("ada", "!done")
        assert "A mentor will review it" not in reply
        assert "Your change is reviewed by the project's reviewers where you submitted it. " \
            "If you'd like a mentor to look at it, type !stuck and say so." in reply
        assert "You're now on step 4, Get involved" in reply
        assert len(adapter.sent) - before == 1  # the reply, and nothing sent to anyone else
        reply = await bot.say("ada", "!status")
        assert "3. First task: done" in reply
        assert "4. Get involved: 1 task done" in reply


async def test_stop_gives_the_task_back_and_start_picks_up_where_you_stopped(
        db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", LINGO)
        assert _task(await bot.say("ada", "!task")) == LINGO_TASKS[0]
        reply = await bot.say("ada", "!stop")
        assert reply == (
            "You've left the guided path, and I won't send you event invites. I've given back "
            f'your task "{LINGO_TASKS[0]}" so that someone else can take it meanwhile. Your '
            "progress is kept: type !start any time to continue from where you stopped (with "
            "the same task if it is still free).")
        assert await bot.running.store.active_claim(await _person(bot, "ada")) is None

        reply = await bot.say("ada", "!start")  # nobody took it: the same task
        assert reply.startswith("Welcome back! Picking up where you stopped.")
        assert "What are you interested in?" not in reply
        assert _task(reply) == LINGO_TASKS[0]

        await bot.say("ada", "!stop")
        await bot.script("bea", LINGO)
        assert _task(await bot.say("bea", "!task")) == LINGO_TASKS[0]  # free while ada is away
        reply = await bot.say("ada", "!start")
        assert reply.startswith("Welcome back! Picking up where you stopped.")
        assert _task(reply) == LINGO_TASKS[1]


async def test_start_in_another_projects_channel_after_stop_asks_continue_or_start(
        db_url: str) -> None:
    async with Harness(make_config(db_url), networks=("irc",)) as bot:
        await bot.script("ada", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"], "irc")
        await bot.say("ada", "!stop", "irc")
        reply = await bot.say("ada", "!status", "irc")
        assert reply.endswith("You've left the guided path: type !start to continue where you "
                              "stopped.")
        reply = await bot.say("ada", "!start", "irc", room="#mapview")
        assert reply.startswith("Welcome back! You stopped along Pagebot's path. Continue "
                                "where you stopped, or start with Mapview?")
        assert "1) Continue with Pagebot" in reply
        assert "2) Start with Mapview" in reply
        reply = await bot.say("ada", "1", "irc", room="#mapview")
        assert reply.startswith("Picking up where you stopped.")
        assert "Get started with Pagebot: step 2 of 6" in reply

        await bot.say("ada", "!stop", "irc")
        await bot.say("ada", "!start", "irc", room="#mapview")
        reply = await bot.say("ada", "2", "irc", room="#mapview")
        assert "Great choice: Mapview." in reply
        assert "Get started with Mapview: step 1 of 6" in reply


async def test_status_shows_the_task_title_not_its_id(db_url: str) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", LINGO)
        await bot.say("ada", "!task")
        reply = await bot.say("ada", "!status")
        assert f'3. First task: working on "{LINGO_TASKS[0]}"' in reply
        assert "lingo-plural-docs" not in reply
        await bot.say("ada", "!done")
        await bot.say("ada", "!task")
        reply = await bot.say("ada", "!status")
        assert f'4. Get involved: 1 task done; working on "{LINGO_TASKS[1]}"' in reply
