"""Level-up mentors: invited once after the first task and more, approved by an organizer,
then a mentor with the guide and office hours set in chat; the report shows them apart."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from services.reports import mentoring_report
from tests.harness import Harness, make_config

LINGO = ["!start", "!skip", "!skip", "!skip", "Lingo"]


def levelup_config(db_url: str, **levelup: object) -> Config:
    return make_config(db_url, roles={"organizers": ["memory:olga"]},
                       levelup={"more_tasks": 1, **levelup})


def received(bot: Harness, who: str) -> list[str]:
    """What reached `who`: told to them, or said in their private chat (a due turn's)."""
    return [s.text for s in bot.adapters["memory"].sent
            if getattr(s.msg.to, "external_id", None) == who or
            getattr(s.msg.to, "id", None) == f"dm:{who}"]


async def _tasks(bot: Harness, who: str, count: int) -> None:
    await bot.script(who, LINGO)
    for _ in range(count):
        assert "Your task" in await bot.say(who, "!task")
        await bot.say(who, "!done")


def _invites(bot: Harness, who: str) -> list[str]:
    return [t for t in received(bot, who) if "Would you like to mentor Lingo" in t]


async def test_invited_once_approved_then_a_mentor_with_hours_and_the_guide(
        db_url: str) -> None:
    async with Harness(levelup_config(db_url)) as bot:
        await _tasks(bot, "ada", 2)
        await _tasks(bot, "bea", 1)  # a first task only: not yet
        assert "Once you've finished 2 tasks" in await bot.say("ada", "!levelup yes")
        await bot.tick()
        assert len(_invites(bot, "ada")) == 1
        assert _invites(bot, "bea") == []
        await bot.tick()
        await bot.restart()
        await bot.tick()
        assert len(_invites(bot, "ada")) == 1  # once, also across restarts

        assert "Answer !levelup yes or !levelup no" in await bot.say("ada", "!levelup maybe")
        assert "for organizers only" in await bot.say("ada", "!approve ada")
        assert "for mentors only" in await bot.say("ada", "!hours mon 10:00-12:00")
        reply = await bot.say("ada", "!levelup yes")
        assert "asked the organizers to approve you as a mentor of Lingo" in reply
        asked = [t for t in received(bot, "olga") if "would like to mentor it" in t]
        assert asked == ["memory:ada has finished 2 tasks on Lingo and would like to mentor it. "
                         "To approve: !approve memory:ada"]
        assert "said yes already" in await bot.say("ada", "!levelup yes")

        assert "'nobody' isn't waiting for approval. Waiting for approval: memory:ada" in \
            await bot.say("olga", "!approve nobody")
        assert "Usage: !approve NAME" in await bot.say("olga", "!approve")
        assert "memory:ada is now a mentor of Lingo" in await bot.say("olga", "!approve ada")
        welcome = [t for t in received(bot, "ada") if "You're now a mentor of Lingo" in t]
        assert len(welcome) == 1
        assert "Mentor guide" in welcome[0]
        assert "https://lumen.test/handbook/mentoring" in welcome[0]
        assert "isn't waiting" in await bot.say("olga", "!approve ada")  # done already

        # Office hours in chat: checked, friendly, kept across a restart.
        assert "office hours: always (UTC)" in await bot.say("ada", "!hours")
        assert "I couldn't read that: unknown day" in await bot.say(
            "ada", "!hours Mon-Fry 18:00-20:00 Europe/Lisbon")
        assert "I couldn't read that: unknown time zone 'Mars/Olympus'" in await bot.say(
            "ada", "!hours Mon-Fri 18:00-20:00 Mars/Olympus")
        assert "the end must come after the start" in await bot.say(
            "ada", "!hours Mon-Fri 20:00-18:00 Europe/Lisbon")
        reply = await bot.say("ada", "!hours Mon-Fri 18:00-20:00 Europe/Lisbon")
        assert "Your office hours are now mon-fri 18:00-20:00 (Europe/Lisbon)" in reply
        await bot.restart()
        assert "office hours: mon-fri 18:00-20:00 (Europe/Lisbon)" in await bot.say(
            "ada", "!hours")
        overview = await bot.say("olga", "!mentors")
        lingo = overview.split("Lingo:")[1]
        assert "memory:ada" in lingo  # in the mentor directory of their project

        report = await mentoring_report(bot.config)
        assert [r.group for r in report["levelled-up"]] == ["memory:ada"]
        assert "memory:ada" not in [r.group for r in report["mentor"]]


async def test_saying_no_and_the_invitation_switched_off(sqlite_url: str,
                                                         tmp_path: Path) -> None:
    async with Harness(levelup_config(sqlite_url)) as bot:
        await _tasks(bot, "ada", 2)
        await bot.tick()
        assert "No problem" in await bot.say("ada", "!levelup no")
        assert "Waiting for approval: nobody" in await bot.say("olga", "!approve ada")
    async with Harness(levelup_config(f"sqlite+aiosqlite:///{tmp_path / 'off.db'}",
                                      enabled=False)) as bot:
        await _tasks(bot, "ada", 2)
        await bot.tick()
        assert _invites(bot, "ada") == []


async def test_a_new_mentor_is_welcomed_in_their_own_language(sqlite_url: str) -> None:
    """The organizer's !approve turn tells the new mentor in the language they chose; the
    request to approve reaches the organizer in theirs."""
    async with Harness(levelup_config(sqlite_url)) as bot:
        await _tasks(bot, "ada", 2)
        await bot.say("ada", "!language es")
        await bot.say("olga", "!language pt_BR")
        await bot.tick()
        await bot.say("ada", "!levelup yes")
        assert [t for t in received(bot, "olga") if "!approve memory:ada" in t] == [
            "memory:ada terminou 2 tarefas de Lingo e quer ser mentor do projeto. Para aprovar: "
            "!approve memory:ada"]
        await bot.say("olga", "!language en")
        assert "memory:ada is now a mentor of Lingo" in await bot.say("olga", "!approve ada")
        [welcome] = [t for t in received(bot, "ada") if t.startswith("Ahora eres mentor de")]
        assert welcome.startswith("Ahora eres mentor de Lingo: ¡te damos la bienvenida!")
