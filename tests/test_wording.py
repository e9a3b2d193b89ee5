"""The first ten minutes, as a newcomer and a mentor live them: every reply clear and true
(issue 22). Each test walks the bot as a person would and reads what it says."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.wiring import load_content
from flows.events.content import EventsContent
from services.broadcast import broadcast_now
from tests.harness import CONTENT, FakeClock, Harness, make_config

TO_PAGEBOT = ["!start", "!skip", "!skip", "!skip", "Pagebot"]
PAGEBOT_WORKSHOP = ["done", "main", "1", "pytest tests/unit", "!skip"]
MR = "https://code.lumen.test/pagebot/pagebot/-/merge_requests/7"


def section(reply: str, heading: str) -> str:
    """The lines of `reply` under `heading`, up to the next blank line."""
    return reply.partition(heading + "\n")[2].partition("\n\n")[0]


async def test_help_offers_only_what_works_at_this_step(bot: Harness) -> None:
    await bot.script("ada", TO_PAGEBOT)  # the workshop's first step: nothing to go back to,
    reply = await bot.say("ada", "!help")  # and it cannot be skipped
    here = section(reply, "Right now you can use:")
    assert here == "  answer with a number (1, !1) or the option's word"
    assert "!back" not in reply
    assert "!skip" not in reply
    anywhere = section(reply, "And anywhere:")
    assert "  !pause: stop for now" in anywhere
    assert "  !resume" not in anywhere  # nothing is paused

    await bot.say("ada", "done")  # step 2: back works, skip does not
    here = section(await bot.say("ada", "!help"), "Right now you can use:")
    assert here == "  !back: go back one step"
    assert "I don't know the command !frob. Here you can use: !back." in await bot.say(
        "ada", "!frob")

    await bot.script("ada", ["main", "1", "pytest tests/unit"])  # step 5 may be skipped
    here = section(await bot.say("ada", "!help"), "Right now you can use:")
    assert "  !back: go back one step" in here
    assert "  !skip: skip this question or step" in here

    await bot.say("ada", "!pause")
    reply = await bot.say("ada", "!help")
    assert "Right now you can use" not in reply
    assert "  !resume: continue where you paused" in reply
    assert "!pause:" not in reply


async def test_help_before_a_project_leaves_out_what_needs_one(bot: Harness) -> None:
    reply = await bot.say("bo", "!help")
    assert reply.startswith("Commands you can use:\n  !start: begin")
    for word in ("!pause", "!resume", "!task"):
        assert word not in reply


async def test_a_wrong_merge_request_link_is_told_what_is_wrong(bot: Harness) -> None:
    await bot.script("cy", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP])
    reply = await bot.say("cy", "https://code.lumen.test/pagebot/pagebot/merge_requests/7")
    assert reply == ("That link doesn't fit this step: it is missing \"/-/\". It should look "
                     "like this: https://code.lumen.test/pagebot/pagebot/-/merge_requests/42")
    assert "starts with https://" not in reply
    reply = await bot.say("cy", "code.lumen.test/pagebot/pagebot/-/merge_requests/7")
    assert reply.startswith("That isn't a web address: paste the whole link, starting with "
                            "https://. It should look like this: https://code.lumen.test/")
    reply = await bot.say("cy", "http://code.lumen.test/pagebot/pagebot/-/merge_requests/7")
    assert "it starts with http://, and this step needs https://" in reply
    reply = await bot.say("cy", "https://github.com/lumen/pagebot/pull/7")
    assert "it points to github.com, and this step needs a link on code.lumen.test" in reply
    assert "Congratulations" in await bot.say("cy", MR)


async def test_the_certificate_says_who_can_check_it_and_how(bot: Harness) -> None:
    await bot.script("dee", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP])
    reply = await bot.say("dee", MR)
    assert "What name should your certificate carry?" in reply
    reply = await bot.say("dee", "!name Dee")
    assert "Anyone can check" not in reply  # no [web] public_url: no public page to name
    assert "The program's organizers can confirm it (wayfinder certificate verify " in reply


async def test_a_question_while_holding_a_task_is_pointed_to_people(bot: Harness) -> None:
    await bot.script("eve", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP, MR])
    reply = await bot.say("eve", "How do I submit my change?")
    assert not reply.startswith("Noted")
    assert reply == (
        "I can't answer questions myself, but people can:\n"
        "- type !stuck How do I submit my change? to ask a mentor\n"
        "- or ask in Pagebot's support channel: #pagebot (irc), #pagebot:lumen.test (matrix), "
        "https://t.me/lumen_pagebot (telegram)\n"
        "When your change is submitted, type !done; !release gives the task back.")
    reply = await bot.say("eve", "the tests fail on my laptop")  # not a question: the same ways
    assert "- type !stuck and a sentence about what's blocking you" in reply
    assert "- or ask in Pagebot's support channel: #pagebot (irc)" in reply
    # The way offered works: the words open a case.
    assert re.search(r"case [A-Z0-9]{5}", await bot.say("eve", "!stuck How do I submit?"))
    await bot.say("eve", "!done")
    reply = await bot.say("eve", "what now?")
    assert "- type !stuck what now? to ask a mentor" in reply
    assert reply.endswith("Type !task for a new task, or !status to see your progress.")


async def test_a_question_at_a_workshop_step_is_pointed_to_people(bot: Harness) -> None:
    await bot.script("gil", TO_PAGEBOT)
    reply = await bot.say("gil", "which Python version do I need?")
    assert reply == (
        "I can't answer questions myself, but people can:\n"
        "- type !stuck which Python version do I need? to ask a mentor\n"
        "- or ask in Pagebot's support channel: #pagebot (irc), #pagebot:lumen.test (matrix), "
        "https://t.me/lumen_pagebot (telegram)\n"
        "When you've finished this step, type done (or 1).")
    await bot.say("gil", "done")  # an answer checkpoint: a wrong answer is only a wrong answer
    assert await bot.say("gil", "master") == ("That's not quite it. Have another look at the "
                                              "instructions and try again.")
    assert "- type !stuck is it main? to ask a mentor" in await bot.say("gil", "is it main?")


async def test_status_explains_every_stage_and_the_next_action(bot: Harness) -> None:
    await bot.script("fay", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP, MR, "!done"])
    reply = await bot.say("fay", "!status")
    lines = reply.splitlines()
    four = lines.index("  [>] 4. Get involved: 1 task done")
    assert lines[four + 1].strip().startswith("You're part of the project now: take more tasks "
                                              "(!task)")
    assert lines[four + 1].strip().endswith("Counts: every task you finish (3 in all open "
                                            "stage 5); the meetings and sprints you come to "
                                            "are on your record.")
    five = lines.index("  [ ] 5. Get more involved")
    assert "bigger tasks, helping newcomers" in lines[five + 1]
    assert "Counts: the events you check in at (!checkin CODE at the venue)" in lines[five + 1]
    assert "Counts: each checkpoint you pass, and the workshop's live sessions" in reply  # 2
    assert "Counts: typing !done once your change is submitted." in reply  # stage 3
    assert reply.endswith("Next: type !task for another task (2 more to reach stage 5, Get "
                          "more involved).")
    await bot.script("fay", ["!task", "!done", "!task", "!done"])
    reply = await bot.say("fay", "!status")
    assert "  [>] 5. Get more involved" in reply
    assert reply.endswith("Next: type !task for another task, or !events to meet the "
                          "community.")


# -- the mentor's side ------------------------------------------------------------------------
MENTOR_ROLES = {"organizers": ["irc:olga"]}


async def test_a_ping_says_who_what_since_when_their_words_and_how_to_answer(
        sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))  # Monday: Amara is on duty
    config = make_config(sqlite_url, roles=MENTOR_ROLES)
    async with Harness(config, networks=("irc", "matrix"), clock=clock) as bot:
        await bot.script("ada", [*TO_PAGEBOT, *PAGEBOT_WORKSHOP, MR], "irc")
        reply = await bot.say("ada", "!stuck where do I find the help text?", "irc")
        code = re.search(r"case ([A-Z0-9]{5})", reply)
        assert code is not None
        ping = [s.text for s in bot.adapters["matrix"].sent
                if getattr(s.msg.to, "external_id", "") == "@amara:lumen.test"]
        assert ping == [
            f"ada needs help with Pagebot (case {code.group(1)}).\n"
            "Stuck on: the task \"Fix the typo in the help text of the `replace` script\"\n"
            "Since: asked just now\n"
            "Their words: \"where do I find the help text?\"\n"
            "To answer: claim it; I'll tell ada you're on it and how to reach you, or write "
            "to them directly: ada on irc.\n"
            f"\n  Claim case {code.group(1)}: !claim {code.group(1)}"]
        assert ping[0].count("Pagebot") == 1  # the project is named once
        assert "irc:ada" not in ping[0]  # a name, not an id
        assert "I've asked Amara (a Pagebot mentor) to help you (case " in reply
        assert "If they haven't picked it up within 2 hours, I'll ask someone else. Meanwhile " \
               "you can keep asking in Pagebot's support channel (#pagebot (irc)" in reply


async def test_the_wait_before_the_next_mentor_is_said_in_wall_clock_time(
        sqlite_url: str) -> None:
    """Escalation counts the mentor's office hours: asked at 17:00 in Berlin, with Amara on
    duty until 18:00 and 2 hours to wait, the next mentor is asked 17 hours later."""
    clock = FakeClock(datetime(2026, 11, 2, 16, 0, tzinfo=UTC))
    config = make_config(sqlite_url, roles=MENTOR_ROLES)
    async with Harness(config, networks=("matrix",), clock=clock) as bot:
        await bot.script("ida", TO_PAGEBOT, "matrix")
        reply = await bot.say("ida", "!stuck git fails", "matrix")
        assert "I've asked Amara" in reply
        assert "If they haven't picked it up within 17 hours, I'll ask someone else." in reply


async def test_a_mentor_who_took_a_case_is_told_so_as_the_reader(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    config = make_config(sqlite_url, roles=MENTOR_ROLES)
    async with Harness(config, networks=("irc", "matrix"), clock=clock) as bot:
        await bot.script("bo", TO_PAGEBOT, "irc")
        code = re.search(r"case ([A-Z0-9]{5})", await bot.say("bo", "!stuck git fails", "irc"))
        assert code is not None
        amara = "@amara:lumen.test"
        assert f"Case {code.group(1)} is yours" in await bot.say(
            amara, f"!claim {code.group(1)}", "matrix")
        again = await bot.say(amara, f"!claim {code.group(1)}", "matrix")
        assert again.startswith(f"You took case {code.group(1)} already: it's yours.")
        assert "already took" not in again.partition(".")[0].replace("You took", "")
        other = await bot.say("tomasz", f"!claim {code.group(1)}", "irc")
        assert other == f"Amara already took case {code.group(1)}."


async def test_no_mentor_reachable_says_what_happens_and_where_to_ask(
        sqlite_url: str) -> None:
    """A console-only demo: Lingo's mentors are on IRC and Telegram, its mentor channel on
    IRC. The newcomer hears that, who has the question now, and where to ask meanwhile."""
    config = make_config(sqlite_url, roles={"organizers": ["console:olga"]})
    async with Harness(config, networks=("console",)) as bot:
        await bot.script("lu", ["!start", "!skip", "!skip", "!skip", "Lingo"], "console")
        reply = await bot.say("lu", "!stuck the tool won't start", "console")
        assert reply.startswith("None of Lingo's mentors can be reached through me right now. "
                                "I've passed your question (case ")
        assert "to the program's organizers, who will find you a mentor; that can take a day " \
               "or so, and I'll tell you as soon as someone picks it up." in reply
        assert reply.endswith("The quickest help meanwhile: ask in Lingo's support channel "
                              "(#lumen-lingo (irc), #lingo:lumen.test (matrix), "
                              "https://t.me/lumen_lingo (telegram)).")
        told = [s.text for s in bot.adapters["console"].sent
                if getattr(s.msg.to, "external_id", "") == "olga"]
        assert len(told) == 1
        assert "lu needs help with Lingo" in told[0]
        assert "To answer: find them a Lingo mentor" in told[0]

    config = make_config(sqlite_url.replace("wayfinder.db", "alone.db"))  # no organizer
    async with Harness(config, networks=("console",)) as bot:
        await bot.script("lu", ["!start", "!skip", "!skip", "!skip", "Lingo"], "console")
        reply = await bot.say("lu", "!stuck the tool won't start", "console")
        assert "Nor can an organizer: your question is saved (case " in reply
        assert "shows in the organizers' mentoring report, but I can't say when someone will " \
               "see it. Please ask in Lingo's support channel" in reply


# -- events ---------------------------------------------------------------------------------
ORGANIZER = "org"
MEETUP = ("!event new meetup | Lumen meetup | 2026-12-10 18:30 | Europe/Berlin | "
          "Example Str. 5 | de | everyone")


def invited(bot: Harness, who: str) -> int:
    return sum(1 for s in bot.adapters["memory"].sent
               if getattr(s.msg.to, "external_id", None) == who
               and s.text.startswith("You're invited"))


async def test_a_second_broadcast_skips_those_who_answered_unless_asked(db_url: str) -> None:
    config = make_config(db_url, roles={"organizers": [f"memory:{ORGANIZER}"]},
                         events={"quiet_hours": ""})
    async with Harness(config) as bot:
        for who in ("ana", "ben"):
            await bot.say(who, "!region de")
            await bot.say(who, "!invites on")
        await bot.say(ORGANIZER, MEETUP)
        assert "Noted as maybe" in await bot.say("ana", "!rsvp meetup maybe")  # from !events

        preview = await bot.say(ORGANIZER, "!broadcast meetup")
        assert "It reaches 1 person (each once, on the network they use; people invited " \
               "before and people who answered are skipped (add `including maybe` to invite " \
               "those who said maybe again)):" in preview
        await bot.say(ORGANIZER, "!broadcast confirm")
        await bot.tick()
        assert (invited(bot, "ana"), invited(bot, "ben")) == (0, 1)  # ana had answered

        await bot.say("ben", "!rsvp meetup maybe")
        await bot.say("cyd", "!region de")
        await bot.say("cyd", "!invites on")
        assert "It reaches 1 person" in await bot.say(ORGANIZER, "!broadcast meetup")
        await bot.say(ORGANIZER, "!broadcast confirm")
        await bot.tick()
        assert (invited(bot, "ana"), invited(bot, "ben"), invited(bot, "cyd")) == (0, 1, 1)

        # The organizer asks otherwise: those who said maybe are invited again.
        preview = await bot.say(ORGANIZER, "!broadcast meetup including maybe")
        assert "It reaches 2 people (each once, on the network they use; those who answered " \
               "maybe are invited again; people invited before or who answered otherwise " \
               "are skipped):" in preview
        await bot.say(ORGANIZER, "!broadcast confirm")
        await bot.tick()
        assert (invited(bot, "ana"), invited(bot, "ben"), invited(bot, "cyd")) == (1, 2, 1)

        await bot.say("ana", "!rsvp meetup yes")
        await bot.say("ben", "!rsvp meetup no")
        assert "It would reach nobody: no one in these regions and this far along has " \
               "consented to invites, or all of them were skipped (those who answered maybe " \
               "are invited again" in await bot.say(ORGANIZER, "!broadcast meetup including maybe")
        await bot.say(ORGANIZER, "!broadcast cancel")
        usage = await bot.say(ORGANIZER, "!broadcast meetup including everybody")
        assert usage.startswith("Usage: !broadcast EVENT [at YYYY-MM-DD HH:MM] [including "
                                "maybe | no | answered]")
        assert "People who answered are not invited again, unless you add `including`" in usage


LATE_MEETUP = """title = "Late meetup"
starts = 2027-01-15T19:00:00
timezone = "Europe/Berlin"
place = "Example Str. 5, Berlin"
regions = ["de"]
audience = "everyone"
"""


def _content_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return copy


async def test_an_event_file_added_while_running_is_broadcast_listed_and_answered(
        sqlite_url: str, tmp_path: Path) -> None:
    folder = _content_copy(tmp_path)
    config = make_config(sqlite_url, content={"path": str(folder)}, events={"quiet_hours": ""},
                         roles={"organizers": [f"memory:{ORGANIZER}"]})
    async with Harness(config) as bot:
        await bot.say("ana", "!region de")
        await bot.say("ana", "!invites on")
        (folder / "events" / "late-meetup.toml").write_text(LATE_MEETUP, encoding="utf-8")
        assert await bot.running.reloader.check()
        assert "It reaches 1 person" in await bot.say(ORGANIZER, "!broadcast late-meetup")
        await bot.say(ORGANIZER, "!broadcast confirm")
        await bot.tick()
        invite = [s for s in bot.adapters["memory"].sent
                  if getattr(s.msg.to, "external_id", None) == "ana"][-1]
        assert invite.text.startswith("You're invited: Late meetup")
        assert [c.key for c in invite.msg.choices] == [
            "!rsvp late-meetup yes", "!rsvp late-meetup no", "!rsvp late-meetup maybe"]
        assert "  late-meetup: Late meetup, Fri 15 Jan 2027, 19:00 (Europe/Berlin)" in \
            await bot.say("ana", "!events")
        assert await bot.say("ana", invite.msg.choices[0].key) == (
            "See you there! \"Late meetup\": yes. I'll remind you before it starts. It's your "
            "first event with us: a week before, I'll introduce you to a buddy who has been "
            "before. You can change your answer any time.")


async def test_an_invite_another_process_sent_is_answered_before_the_bot_reloads(
        db_url: str, tmp_path: Path) -> None:
    """`wayfinder broadcast` reads the folder as it is now; the running bot may not have
    reloaded it yet when the answer comes. The answer to an invite it delivered counts."""
    folder = _content_copy(tmp_path)
    config = make_config(db_url, content={"path": str(folder)}, events={"quiet_hours": ""})
    async with Harness(config, clock=FakeClock(datetime.now(UTC))) as bot:
        await bot.say("ben", "!region de")
        await bot.say("ben", "!invites on")
        (folder / "events" / "late-meetup.toml").write_text(LATE_MEETUP, encoding="utf-8")
        event = load_content(folder).of(EventsContent).events["late-meetup"]
        _, queued = await broadcast_now(config, event, None, "cli")
        assert queued == 1
        bot.running.dispatcher.poke()  # as its feeder finds another process's rows in time
        await bot.running.dispatcher.drain(10)
        assert any(s.text.startswith("You're invited: Late meetup")
                   for s in bot.adapters["memory"].sent)
        assert await bot.say("ben", "!rsvp late-meetup maybe") == (
            "Noted: maybe to the invite for late-meetup. You can change your answer any time.")
        person = await bot.running.store.person_for(bot.adapters["memory"].identity("ben"))
        assert await bot.running.store.rsvp_of("late-meetup", person) == "maybe"
        # From the command line too, people who answered are invited again only if asked.
        assert (await broadcast_now(config, event, None, "cli"))[1] == 0
        assert (await broadcast_now(config, event, None, "cli", ("maybe",)))[1] == 1
        # Someone never invited to it still hears that the event is unknown.
        assert "I don't know the event 'late-meetup'" in await bot.say(
            "cyd", "!rsvp late-meetup yes")
