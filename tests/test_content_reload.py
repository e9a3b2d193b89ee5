"""Content changes without a restart: file changes, SIGHUP and `wayfinder content reload`;
validated first, swapped atomically, and whatever referred to removed content says so."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter
from bot.app import App
from bot.config import Config
from flows.events.content import EventsContent
from tests.harness import CONTENT, Harness, make_config

ROOT = Path(__file__).resolve().parent.parent
ORGANIZER = "olga"
NEW_EVENT = """title = "Lumen meetup tonight"
starts = 2026-12-01T18:30:00
timezone = "Europe/Berlin"
place = "Example Str. 5, Berlin"
regions = ["de"]
audience = "everyone"
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the demo content that a test edits while the bot runs."""
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return copy


def reload_config(db_url: str, folder: Path) -> Config:
    return make_config(db_url, content={"path": str(folder)},
                       roles={"organizers": [f"memory:{ORGANIZER}"]})


def drop_block(path: Path, header: str, block_id: str) -> None:
    """Remove the [[header]] table whose id is `block_id` from a content file."""
    head, *blocks = path.read_text(encoding="utf-8").split(f"\n[[{header}]]\n")
    kept = [b for b in blocks if f'id = "{block_id}"' not in b]
    assert len(kept) == len(blocks) - 1
    path.write_text(f"\n[[{header}]]\n".join([head, *kept]), encoding="utf-8")


def to_organizer(h: Harness) -> list[str]:
    return [s.text for s in h.adapters["memory"].sent
            if getattr(s.msg.to, "external_id", None) == ORGANIZER]


async def test_an_event_file_added_while_running_is_listed_and_rsvp_works(
        db_url: str, folder: Path) -> None:
    async with Harness(reload_config(db_url, folder)) as h:
        await h.say("ana", "!region de")
        (folder / "events" / "meetup-tonight.toml").write_text(NEW_EVENT, encoding="utf-8")
        assert "meetup-tonight" not in await h.say("ana", "!events")  # not polled yet

        assert await h.running.reloader.check()
        listing = await h.say("ana", "!events")
        assert "meetup-tonight: Lumen meetup tonight" in listing
        reply = await h.say("ana", "!rsvp meetup-tonight yes")
        assert 'See you there! "Lumen meetup tonight": yes.' in reply
        person = await h.running.store.person_for(h.adapters["memory"].identity("ana"))
        assert await h.running.store.rsvp_of("meetup-tonight", person) == "yes"
        assert not await h.running.reloader.check()  # nothing changed since


async def test_a_bad_edit_keeps_the_old_content_and_tells_the_organizers_file_and_key(
        sqlite_url: str, folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with Harness(reload_config(sqlite_url, folder)) as h:
        before = h.running.engine.content
        project = folder / "projects" / "pagebot.toml"
        good = project.read_text(encoding="utf-8")
        project.write_text(good.replace('workshop = "pagebot-get-started"',
                                        'workshop = "pagebot-intro"'), encoding="utf-8")
        (folder / "events" / "atlantis.toml").write_text(
            NEW_EVENT.replace('["de"]', '["atlantis"]'), encoding="utf-8")

        with caplog.at_level(logging.ERROR, logger="bot.reload"):
            assert not await h.running.reloader.check()
        await h.running.dispatcher.drain(10)
        assert h.running.engine.content is before
        notices = to_organizer(h)
        assert len(notices) == 1
        for where in ("content/projects/pagebot.toml: workshop: unknown workshop id "
                      "'pagebot-intro'",
                      "content/events/atlantis.toml: regions[0]: unknown region 'atlantis'"):
            assert where in notices[0]
            assert where in caplog.text
        assert "keeps running on the previous content" in notices[0]

        # The old content goes on serving: Pagebot still has its workshop.
        reply = await h.script("ben", ["!start", "!skip", "!skip", "!skip", "Pagebot"])
        assert "Get started with Pagebot: step 1 of 6" in reply

        assert not await h.running.reloader.check()  # the same bad edit is reported once
        await h.running.dispatcher.drain(10)
        assert len(to_organizer(h)) == 1

        project.write_text(good, encoding="utf-8")
        (folder / "events" / "atlantis.toml").unlink()
        assert await h.running.reloader.check()
        assert h.running.engine.content is not before


async def test_a_person_on_a_workshop_step_that_disappeared_gets_a_clear_reply(
        db_url: str, folder: Path) -> None:
    workshop = folder / "workshops" / "pagebot-get-started.toml"
    async with Harness(reload_config(db_url, folder)) as h:
        reply = await h.script("cy", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"])
        assert "step 2 of 6, Get the code" in reply
        drop_block(workshop, "steps", "clone")
        assert await h.running.reloader.check()

        reply = await h.say("cy", "main")  # the answer to the step that is gone
        assert "Sorry, something went wrong" not in reply
        assert ('The step you were on (clone) is no longer part of "Get started with '
                'Pagebot": the organizers changed the workshop.') in reply
        assert "step 2 of 5, Set up a development environment" in reply
        assert "step 3 of 5, Run the tests" in await h.say("cy", "done")


async def test_a_step_that_moved_keeps_the_person_on_it(sqlite_url: str, folder: Path) -> None:
    workshop = folder / "workshops" / "pagebot-get-started.toml"
    async with Harness(reload_config(sqlite_url, folder)) as h:
        await h.script("dee", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"])
        text = workshop.read_text(encoding="utf-8")
        first = text.index("[[steps]]")
        workshop.write_text(text[:first] + '[[steps]]\nid = "hello"\ntitle = "Say hello"\n'
                            'body = "Wave."\ncheckpoint = { kind = "confirm" }\n\n'
                            + text[first:], encoding="utf-8")
        assert await h.running.reloader.check()
        reply = await h.say("dee", "main")  # still the answer to "Get the code"
        assert "no longer part" not in reply
        assert "step 4 of 7, Set up a development environment" in reply


async def test_a_claimed_task_that_disappeared_is_released_and_says_so(
        db_url: str, folder: Path) -> None:
    async with Harness(reload_config(db_url, folder)) as h:
        await h.script("hal", ["!start", "!skip", "!skip", "!skip", "Handbook",
                               "done", "[Lumen](https://lumen.test)", "done"])
        reply = await h.say("hal", "https://code.lumen.test/handbook/handbook/-/merge_requests/3")
        assert "Your task: Fix the four broken links" in reply
        drop_block(folder / "projects" / "handbook.toml", "tasks", "handbook-broken-links")
        assert await h.running.reloader.check()

        reply = await h.say("hal", "!task")
        assert ("The task you had reserved (handbook-broken-links) is no longer listed for "
                "Handbook: the organizers removed it, so I've released it.") in reply
        assert "Here is a first task picked for you." in reply
        store = h.running.store
        claim = await store.active_claim(await store.person_for(
            h.adapters["memory"].identity("hal")))
        assert claim is not None
        assert claim.task_id != "handbook-broken-links"


async def test_an_event_someone_answered_that_disappeared_says_so(
        sqlite_url: str, folder: Path) -> None:
    event = folder / "events" / "berlin-hack-evening.toml"  # for everyone, so ivy may answer
    event.write_text(event.read_text(encoding="utf-8").replace('audience = "workshop"',
                                                               'audience = "everyone"'),
                     encoding="utf-8")
    async with Harness(reload_config(sqlite_url, folder)) as h:
        await h.say("ivy", "!region de")
        assert "See you there!" in await h.say("ivy", "!rsvp berlin-hack-evening yes")
        (folder / "events" / "berlin-hack-evening.toml").unlink()
        assert await h.running.reloader.check()
        reply = await h.say("ivy", "!rsvp berlin-hack-evening no")
        assert ("The event 'berlin-hack-evening' you answered yes to is no longer listed: the "
                "organizers removed or cancelled it.") in reply
        assert "berlin-hack-evening" not in await h.say("ivy", "!events")


async def test_sighup_reloads_the_running_bot(sqlite_url: str, folder: Path) -> None:
    async with Harness(reload_config(sqlite_url, folder)) as h:
        serving = asyncio.create_task(h.running.serve())
        try:
            for _ in range(100):  # until serve() has installed its handler
                if signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL:
                    break
                await asyncio.sleep(0.01)
            assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL
            (folder / "events" / "meetup-tonight.toml").write_text(NEW_EVENT, encoding="utf-8")
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(200):
                if h.running.reloader.version:
                    break
                await asyncio.sleep(0.01)
            assert h.running.reloader.version == 1
            # Said while the bot serves: once serve() has stopped, new events are refused.
            await h.say("ana", "!region de")
            assert "meetup-tonight" in await h.say("ana", "!events")
        finally:
            h.running.stop()
            await serving
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_DFL


async def test_content_reload_command_validates_then_reaches_the_running_bot(
        sqlite_url: str, folder: Path, tmp_path: Path) -> None:
    config_file = tmp_path / "wayfinder.toml"
    config_file.write_text(f'[storage]\nurl = "{sqlite_url}"\ndurable = false\n'
                           f'[content]\npath = "{folder}"\n', encoding="utf-8")

    def reload_command() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "content", "reload", "-c",
                               str(config_file)], capture_output=True, text=True, timeout=60,
                              cwd=ROOT, check=False)

    async with Harness(reload_config(sqlite_url, folder)) as h:
        regions = folder / "regions.toml"
        good = regions.read_text(encoding="utf-8")
        regions.write_text(good.replace('parent = "europe"', 'parent = "eurasia"', 1),
                           encoding="utf-8")
        refused = await asyncio.to_thread(reload_command)
        assert refused.returncode == 1
        assert "regions.toml" in refused.stderr
        assert "regions[1].parent" in refused.stderr
        assert "unknown region 'eurasia'" in refused.stderr
        regions.write_text(good, encoding="utf-8")
        assert await h.running.store.latest_audit_id("content_reload") == 0  # nothing asked

        assert await h.running.reloader.check()  # rewritten: a new modification time
        assert not await h.running.reloader.check()
        done = await asyncio.to_thread(reload_command)
        assert done.returncode == 0, done.stderr
        assert "content OK: 4 projects" in done.stdout
        assert "Reload requested (#" in done.stdout
        assert await h.running.reloader.check()  # asked, although no file changed
        assert h.running.reloader.version == 2
        assert not await h.running.reloader.check()  # once per request



async def test_the_running_bot_polls_the_folder_on_its_own(sqlite_url: str,
                                                           folder: Path) -> None:
    config = make_config(sqlite_url, content={"path": str(folder), "watch_seconds": 0.02})
    app = App(config, [MemoryAdapter()])
    await app.start()  # as `wayfinder run` does: ticker and content watch
    try:
        (folder / "events" / "meetup-tonight.toml").write_text(NEW_EVENT, encoding="utf-8")
        for _ in range(300):
            if "meetup-tonight" in app.engine.content.of(EventsContent).events:
                break
            await asyncio.sleep(0.01)
        assert "meetup-tonight" in app.engine.content.of(EventsContent).events
        assert app.reloader.version == 1
    finally:
        await app.close()


async def test_a_sighup_reload_that_cannot_read_the_folder_is_logged_and_keeps_the_content(
        sqlite_url: str, folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An OSError (not a ContentError) in a SIGHUP reload ended in "Task exception was never
    retrieved"; it is logged like a failed poll and the running content stays."""
    async with Harness(reload_config(sqlite_url, folder)) as h:
        reloader = h.running.reloader
        before = h.running.engine.content

        def unreadable(_root: Path) -> object:
            raise PermissionError(13, "Permission denied", str(folder / "regions.toml"))

        reloader.load = unreadable  # type: ignore[assignment]
        with caplog.at_level(logging.ERROR, logger="bot.reload"):
            reloader.request()
            (task,) = reloader._pending
            assert await task is False
        assert task.exception() is None
        assert reloader.version == 0
        assert h.running.engine.content is before
        assert any("could not reload the content" in r.getMessage() and r.exc_info
                   and isinstance(r.exc_info[1], PermissionError) for r in caplog.records)


async def test_a_sighup_reload_still_running_is_cancelled_when_the_app_closes(
        sqlite_url: str, folder: Path) -> None:
    """App.close left SIGHUP reloads running after the store was closed."""
    app = App(reload_config(sqlite_url, folder), [MemoryAdapter()])
    await app.start(tick=False)
    try:
        await app.reloader._lock.acquire()  # a reload in progress: the next one waits
        app.reloader.request()
        (task,) = app.reloader._pending
        await asyncio.sleep(0)
        assert not task.done()
    finally:
        await app.close()
    assert task.cancelled()
    assert not app.reloader._pending
