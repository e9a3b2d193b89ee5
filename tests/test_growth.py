"""The growth path after the first task: stage 4 explained when reached (content/stages.toml),
through the whole app."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Config
from bot.content import ContentError
from bot.wiring import load_content
from tests.harness import CONTENT, FakeClock, Harness, make_config

# Handbook: the workshop's answers, then its first task.
HANDBOOK = ["!start", "!skip", "!skip", "!skip", "Handbook", "done",
            "[Lumen](https://lumen.test)", "done",
            "https://code.lumen.test/handbook/handbook/-/merge_requests/9"]


async def first_task_done(h: Harness, who: str) -> str:
    await h.script(who, HANDBOOK)
    return await h.say(who, "!done")


async def test_reaching_stage_4_says_what_it_is_what_counts_and_what_comes_next(
        sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url)) as h:
        reply = await first_task_done(h, "ada")
        assert "You're now on step 4, Get involved. You're part of the project now" in reply
        assert "join your project's meetings and sprints (!events lists them)" in reply
        assert "What counts: every task you finish (3 in all open stage 5); the meetings" in reply
        assert "What comes next: local meetups, regional events" in reply
        status = await h.say("ada", "!status")
        assert "[>] 4. Get involved: 1 task done" in status
        assert "Counts: every task you finish (3 in all open stage 5)" in status
        # The second task is no new stage: no explanation again, only what to do next.
        await h.say("ada", "!task")
        second = await h.say("ada", "!done")
        assert "You're now on step" not in second
        assert "Type !task for another task" in second
        await h.say("ada", "!task")
        third = await h.say("ada", "!done")
        assert "You're now on step 5, Get more involved." in third
        assert "What counts: the events you check in at (!checkin CODE at the venue)" in third


async def test_the_stage_words_come_from_content(tmp_path: Path, sqlite_url: str) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    stages = root / "stages.toml"
    stages.write_text(stages.read_text().replace(
        "You're part of the project now", "Welcome to the team"))
    config = make_config(sqlite_url, content={"path": str(root)})
    async with Harness(config) as h:
        assert "You're now on step 4, Get involved. Welcome to the team" in \
            await first_task_done(h, "ada")
    # Without the file, the built-in words.
    stages.unlink()
    fresh = make_config(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
                        content={"path": str(root)})
    async with Harness(fresh) as h:
        reply = await first_task_done(h, "bea")
        assert "You're now on step 4, Get involved. More tasks, at your own pace." in reply


def test_a_stages_file_with_a_stage_missing_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    stages = root / "stages.toml"
    text = stages.read_text()
    stages.write_text(text[:text.rindex("[[stages]]")])
    with pytest.raises(ContentError) as err:
        load_content(root)
    assert any(str(p).startswith("content/stages.toml: stages:") for p in err.value.problems), \
        err.value.problems


# -- project meetings and sprints -----------------------------------------------------------
ORGANIZER = "org"
SPRINT = ("!event new pb-sprint | Pagebot sprint | 2026-12-10 15:00 | UTC | "
          "https://meet.lumen.test/pb | - | project:pagebot | | sprint")


def growth_config(db_url: str) -> Config:
    return make_config(db_url, roles={"organizers": [f"memory:{ORGANIZER}"]},
                       events={"quiet_hours": "", "reminders": ["1d"]})


async def choose(h: Harness, who: str, project: str) -> None:
    await h.script(who, ["!start", "!skip", "!skip", "!skip", project])


def invites_to(h: Harness, who: str) -> list[str]:
    return [s.text for s in h.adapters["memory"].sent
            if getattr(s.msg.to, "external_id", None) == who and
            s.text.startswith("You're invited")]


async def test_a_projects_sprint_invites_the_people_working_on_it_who_consented(
        db_url: str) -> None:
    async with Harness(growth_config(db_url)) as h:
        await choose(h, "ada", "Pagebot")
        assert "your project's meetings and sprints" in await h.say("ada", "!invites on")
        await choose(h, "bea", "Lingo")
        await h.say("bea", "!region de")
        await h.say("bea", "!invites on")
        await choose(h, "cy", "Pagebot")  # works on it, never said yes to invites
        assert "Created pb-sprint" in await h.say(ORGANIZER, SPRINT)
        listed = await h.say(ORGANIZER, "!event list")
        assert "pb-sprint: Pagebot sprint" in listed
        assert "sprint of pagebot" in listed
        preview = await h.say(ORGANIZER, "!broadcast pb-sprint")
        assert "people working on project pagebot, wherever they are" in preview
        assert "It reaches 1 person" in preview
        assert "It's a sprint of Pagebot: you're invited as you're working on it." in preview
        await h.say(ORGANIZER, "!broadcast confirm")
        await h.tick()
        assert len(invites_to(h, "ada")) == 1
        assert invites_to(h, "bea") == invites_to(h, "cy") == []
        # !events shows it to the people of the project, and only to them.
        assert "pb-sprint: Pagebot sprint (a sprint of Pagebot)" in await h.say("ada", "!events")
        assert "pb-sprint" not in await h.say("bea", "!events")
        assert await h.say("bea", "!rsvp pb-sprint yes") == (
            "\"Pagebot sprint\" is a sprint of Pagebot, for people working on that project. "
            "!events lists the events for you.")
        assert "See you there" in await h.say("ada", "!rsvp pb-sprint yes")


async def test_a_project_event_with_a_problem_is_refused_and_nothing_is_created(
        sqlite_url: str) -> None:
    async with Harness(growth_config(sqlite_url)) as h:
        unknown = await h.say(ORGANIZER, SPRINT.replace("project:pagebot", "project:nope"))
        assert unknown.startswith("Unknown project 'nope'.")
        no_project = await h.say(ORGANIZER, SPRINT.replace("project:pagebot", "everyone"))
        assert "a sprint names its project" in no_project
        no_regions = await h.say(ORGANIZER, SPRINT.replace("project:pagebot", "everyone")
                                 .replace("| sprint", "| meetup"))
        assert "name at least one" in no_regions
        bad_kind = await h.say(ORGANIZER, SPRINT.replace("| sprint", "| picnic"))
        assert "problem in kind" in bad_kind
        assert "pb-sprint" not in await h.say(ORGANIZER, "!event list")


def test_an_event_file_for_an_unknown_project_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    (root / "events" / "pb-meeting.toml").write_text(
        'title = "Meeting"\nstarts = 2030-01-01T18:00:00\ntimezone = "UTC"\n'
        'kind = "meeting"\nproject = "nope"\n')
    (root / "events" / "no-one.toml").write_text(
        'title = "Sprint"\nstarts = 2030-01-01T18:00:00\ntimezone = "UTC"\nkind = "sprint"\n')
    with pytest.raises(ContentError) as err:
        load_content(root)
    problems = [str(p) for p in err.value.problems]
    assert "content/events/pb-meeting.toml: project: unknown project 'nope' (no " \
           "projects/nope.toml)" in problems
    assert any(p.startswith("content/events/no-one.toml: (file): a sprint names its project")
               or "a sprint names its project" in p for p in problems), problems


# -- peer programming -----------------------------------------------------------------------
def intros_to(h: Harness, who: str) -> list[str]:
    """Introductions sent to `who` in private (to the person, never to a room)."""
    adapter = h.adapters["memory"]
    return [s.text for s in adapter.sent if s.msg.to == adapter.identity(who)
            and s.text.startswith("Meet your peer-programming partner")]


async def test_newcomers_of_a_project_who_agreed_are_introduced_privately_once_a_week(
        db_url: str) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    async with Harness(growth_config(db_url), clock=clock) as h:
        assert "pick yours first" in await h.say("eve", "!pair on")
        for who, project in (("ada", "Pagebot"), ("bea", "Pagebot"), ("cy", "Pagebot"),
                             ("dan", "Lingo")):
            await choose(h, who, project)
        assert "!pair on to be introduced" in await h.say("ada", "!pair maybe")
        assert "is off for you" in await h.say("ada", "!pair")
        # Asked in the project's channel: answered privately, and the channel hears nothing
        # of it; the introduction later goes privately too.
        public = await h.say("ada", "!pair on", room="#pagebot", direct=False)
        assert "answered your !pair in a private message" in public
        assert "peer programming in Pagebot" in await h.say("bea", "!pair on")
        await h.say("dan", "!pair on")  # alone in Lingo
        await h.tick()
        assert len(intros_to(h, "ada")) == 1
        assert "bea on Memory" in intros_to(h, "ada")[0]
        assert "ada on Memory" in intros_to(h, "bea")[0]
        assert intros_to(h, "cy") == intros_to(h, "dan") == []
        room = [s for s in h.adapters["memory"].sent if getattr(s.msg.to, "id", "") == "#pagebot"]
        assert all("Meet your" not in s.text for s in room)
        await h.tick()
        assert len(intros_to(h, "ada")) == 1  # once
        # cy agrees: ada and bea had their partner this week, so not yet.
        await h.say("cy", "!pair on")
        clock.advance(days=3)
        await h.tick()
        assert intros_to(h, "cy") == []
        clock.advance(days=5)  # a week after: a new partner, never the same one again
        await h.tick()
        assert len(intros_to(h, "cy")) == 1
        assert "ada on Memory" in intros_to(h, "cy")[0]
        assert len(intros_to(h, "bea")) == 1
        assert "no more peer-programming introductions" in await h.say("bea", "!pair off")
        clock.advance(days=8)
        await h.tick()
        assert len(intros_to(h, "bea")) == 1  # off: not introduced again


async def test_both_partners_are_introduced_in_their_own_language(sqlite_url: str) -> None:
    """The introduction job's turn is one partner's; the other's words come from their stored
    language too, not the community's default."""
    async with Harness(growth_config(sqlite_url)) as h:
        for who in ("ada", "bea"):
            await h.say(who, "!language es")
            await choose(h, who, "Pagebot")
            await h.say(who, "!pair on")
        await h.tick()
        adapter = h.adapters["memory"]
        for who, other in (("ada", "bea"), ("bea", "ada")):
            [intro] = [s.text for s in adapter.sent if s.msg.to == adapter.identity(who)
                       and "Pagebot: " + other in s.text]
            assert intro.startswith("Te presento a tu compañero"), intro


# -- after an event: check-in, merit, the next day's follow-up ------------------------------
MEETUP = ("!event new meetup | Lumen meetup | 2026-12-10 18:30 | Europe/Berlin | "
          "Example Str. 5 | europe | everyone")


async def checkin_code(h: Harness, event_id: str) -> str:
    reply = await h.say(ORGANIZER, f"!checkin code {event_id}")
    found = re.search(rf"Check-in code for {event_id}: ([A-Z0-9]+)", reply)
    assert found is not None, reply
    return found.group(1)


def private_to(h: Harness, who: str, start: str) -> list[str]:
    adapter = h.adapters["memory"]
    return [s.text for s in adapter.sent
            if s.msg.to == adapter.identity(who) and s.text.startswith(start)]


async def test_checking_in_at_the_venue_counts_and_a_follow_up_goes_out_the_next_day(
        db_url: str) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    async with Harness(growth_config(db_url), clock=clock) as h:
        await h.say(ORGANIZER, MEETUP)
        code = await checkin_code(h, "meetup")
        assert code == await checkin_code(h, "meetup")  # made once
        assert "is for organizers only" in await h.say("mallory", "!checkin code meetup")
        await h.say("ada", "!start")
        await h.say("ada", "!region de")
        await h.say("ada", "!rsvp meetup yes")
        assert "opens an hour before it starts" in await h.say("ada", f"!checkin {code}")
        clock.now = datetime(2026, 12, 10, 17, 45, tzinfo=UTC)  # 18:45 in Berlin
        assert "I don't know the check-in code 'ZZZZZZ'" in await h.say("ada", "!checkin ZZZZZZ")
        assert "type !checkin and the code" in await h.say("ada", "!checkin")
        reply = await h.say("ada", f"!checkin {code.lower()}")
        assert reply == ("Checked in at \"Lumen meetup\". Thanks for coming! It's on your "
                         "record (!me), which counts toward travel support.")
        assert "already checked in" in await h.say("ada", f"!checkin {code}")
        assert "Checked in: 1" in await h.say(ORGANIZER, "!event status meetup")
        assert "I can take feedback on events you checked in at" in await h.say(
            "bea", "!feedback meetup 4")
        # Merit: the person record and the travel list count it.
        assert "Events attended (checked in): meetup (2026-12-10)" in await h.say("ada", "!me")
        store = h.running.store
        await store.refresh_milestones(3)
        from flows.crm.records import Window
        travel = await store.travel_candidates(Window(), "started")
        assert [(p["identity"], p["attended"]) for p in travel] == [("memory:ada", 1)]
        # Her last words in a channel: the follow-up still goes to her privately.
        await h.say("ada", "!help", room="#lumen", direct=False)
        clock.now = datetime(2026, 12, 11, 8, 59, tzinfo=UTC)  # 09:59 in Berlin: not yet
        await h.tick()
        assert private_to(h, "ada", "Thanks for coming") == []
        clock.advance(minutes=2)
        await h.tick()
        await h.tick()
        follow_up = private_to(h, "ada", "Thanks for coming")
        assert len(follow_up) == 1
        assert "Next steps: " in follow_up[0]
        assert "!feedback meetup 1-5" in follow_up[0]
        room = [s.text for s in h.adapters["memory"].sent
                if getattr(s.msg.to, "id", "") == "#lumen"]
        assert not any("Thanks for coming" in text for text in room)
        assert "Usage: !feedback EVENT 1-5" in await h.say("ada", "!feedback meetup 9")
        assert "will read it" in await h.say("ada", "!feedback meetup 5 met great people")
        assert "Feedback: 1 answer, average 5.0 of 5\n  5: met great people" in await h.say(
            ORGANIZER, "!event status meetup")
        clock.advance(days=1)
        await h.tick()
        assert len(private_to(h, "ada", "Thanks for coming")) == 1  # once
        clock.advance(days=1)
        assert "has closed" in await h.say("bea", f"!checkin {code}")


# -- real-time workshop sessions --------------------------------------------------------------
PAGEBOT_WORKSHOP = ["done", "main", "1", "pytest tests/unit", "done",
                    "https://code.lumen.test/pagebot/pagebot/-/merge_requests/42"]
LIVE = ("!event new pb-live | Pagebot live session | 2026-12-03 17:00 | UTC | "
        "https://meet.lumen.test/pb | - | workshop:pagebot-get-started")


async def test_a_live_workshop_session_invites_those_at_the_workshop_and_attending_counts(
        db_url: str) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    async with Harness(growth_config(db_url), clock=clock) as h:
        for who, project in (("ada", "Pagebot"), ("bea", "Lingo"), ("dan", "Pagebot")):
            await choose(h, who, project)
            await h.say(who, "!invites on")
        await h.script("dan", PAGEBOT_WORKSHOP)  # done with it: not invited any more
        assert "Created pb-live" in await h.say(ORGANIZER, LIVE)
        preview = await h.say(ORGANIZER, "!broadcast pb-live")
        assert "people at workshop pagebot-get-started or about to start it" in preview
        assert "It reaches 1 person" in preview
        await h.say(ORGANIZER, "!broadcast confirm")
        await h.tick()
        invite = invites_to(h, "ada")
        assert len(invite) == 1
        assert ("It's a live workshop session of \"Get started with Pagebot\": you're invited "
                "as you're at that workshop.") in invite[0]
        assert invites_to(h, "bea") == invites_to(h, "dan") == []
        assert "pb-live: Pagebot live session (a live workshop session of" in await h.say(
            "ada", "!events")
        assert "pb-live" not in await h.say("dan", "!events")
        assert "for people at that workshop or about to start it" in await h.say(
            "dan", "!rsvp pb-live yes")
        code = await checkin_code(h, "pb-live")
        clock.now = datetime(2026, 12, 3, 17, 20, tzinfo=UTC)  # during the session
        reply = await h.say("ada", f"!checkin {code}")
        assert "It counts as progress on your workshop" in reply
        status = await h.say("ada", "!status")
        assert "Get started with Pagebot, step 1 of 6; live session attended" in status
        assert "checked in at an event: pb-live" in await h.say(ORGANIZER, "!person ada")


# -- first-timers at face-to-face events: buddies ---------------------------------------------
WARMUP = ("!event new warmup | Warm-up evening | 2026-11-05 18:30 | Europe/Berlin | "
          "Example Str. 5 | europe | everyone")


async def test_a_first_timer_is_paired_with_a_volunteer_buddy_a_week_before(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wayfinder.db'}"
    clock = FakeClock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    async with Harness(growth_config(url), clock=clock) as h:
        for who in ("ada", "bea", "cy", "eve"):
            await h.say(who, "!region de")
        # bea and cy have been to an event before: they checked in at the warm-up.
        await h.say(ORGANIZER, WARMUP)
        code = await checkin_code(h, "warmup")
        clock.now = datetime(2026, 11, 5, 17, 40, tzinfo=UTC)
        for who in ("bea", "cy"):
            assert "Checked in" in await h.say(who, f"!checkin {code}")
        clock.now = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
        await h.say(ORGANIZER, MEETUP)
        first = await h.say("ada", "!rsvp meetup yes")
        assert "It's your first event with us: a week before, I'll introduce you" in first
        eager = await h.say("eve", "!rsvp meetup yes buddy")
        assert "Buddies are people who've been to one of our events before" in eager
        assert "Thank you for volunteering as a buddy" in await h.say(
            "bea", "!rsvp meetup yes buddy")
        await h.say("cy", "!rsvp meetup yes buddy")
        assert "Answer with !rsvp EVENT yes" in await h.say("cy", "!rsvp meetup no buddy")
        await h.say("cy", "!language es")  # cy's buddy note comes in Spanish
        status = await h.say(ORGANIZER, "!event status meetup")
        assert "memory:ada: first time, no buddy yet" in status
        assert "memory:bea: volunteer, free" in status
        await h.tick()
        assert private_to(h, "ada", "Your buddy") == []  # not a week before yet
        clock.now = datetime(2026, 12, 3, 17, 31, tzinfo=UTC)  # a week before 18:30 Berlin
        await h.tick()
        await h.tick()
        ada = private_to(h, "ada", "Your buddy for \"Lumen meetup\": bea on Memory")
        eve = private_to(h, "eve", "Your buddy for \"Lumen meetup\": cy on Memory")
        assert len(ada) == len(eve) == 1  # each volunteer looks after one, once
        assert len(private_to(h, "bea", "Thanks for being a buddy")) == 1
        assert "meet ada on Memory" in private_to(h, "bea", "Thanks for being a buddy")[0]
        [thanks] = private_to(h, "cy", "Gracias por ser compañero en \"Lumen meetup\"")
        assert "te presento a eve en Memory" in thanks
        status = await h.say(ORGANIZER, "!event status meetup")
        assert "memory:ada with buddy memory:bea" in status
        assert "memory:eve with buddy memory:cy" in status
        # cy can't come after all: eve is paired again, with the one volunteer left.
        clock.now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
        await h.say("cy", "!rsvp meetup no")
        assert "memory:eve: first time, no buddy yet" in await h.say(
            ORGANIZER, "!event status meetup")
        await h.tick()
        assert len(private_to(h, "eve", "Your buddy for \"Lumen meetup\": bea on Memory")) == 1
        # bea is forgotten: ada waits for a buddy again, and gets the free one (none is).
        found = re.search(r"!forget confirm ([A-Z0-9]{4}-[A-Z0-9]{4})",
                          await h.say("bea", "!forget"))
        assert found is not None
        assert "erased everything" in await h.say("bea", f"!forget confirm {found.group(1)}")
        status = await h.say(ORGANIZER, "!event status meetup")
        assert "memory:ada: first time, no buddy yet" in status
        assert "memory:eve: first time, no buddy yet" in status
        assert "bea" not in status
    config = tmp_path / "wayfinder.toml"
    config.write_text(f'[storage]\nurl = "{url}"\n[content]\npath = "{CONTENT}"\n')
    shown = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "buddies", "meetup", "-c", str(config)],
        capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["memory:ada: first time, no buddy yet",
                                         "memory:eve: first time, no buddy yet"]
