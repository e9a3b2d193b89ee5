"""Roles: a mentor acts only on their own projects' cases, `!mentor add` takes only identities
the roster can use (and `!mentor remove` undoes it), and the audit log can be read."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ports import UnitOfWork
from flows.mentoring.records import AddMentor
from services.reports import audit_log
from tests.harness import Harness
from tests.test_mentoring import AMARA, mentoring_bot

ROOT_ADMIN = "@root:lumen.test"


async def _wayfinder(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", *args],
                                   cwd=cwd, capture_output=True, text=True, timeout=60,
                                   check=False)


async def _mapview_case(bot: Harness, who: str) -> str:
    await bot.script(who, ["!start", "!skip", "!skip", "!skip", "Mapview", "done"], "irc")
    reply = await bot.say(who, "!stuck the map is blank", "irc")
    found = re.search(r"case ([A-Z0-9]{5})", reply)
    assert found is not None, reply
    return found.group(1)


async def test_a_mentor_cannot_resolve_another_projects_case(sqlite_url: str) -> None:
    """Regression: a Pagebot mentor could `!resolve` a Mapview case."""
    async with mentoring_bot(sqlite_url) as bot:
        code = await _mapview_case(bot, "mo")
        for command in (f"!resolve {code} done here", f"!claim {code}", f"!handback {code}"):
            reply = await bot.say(AMARA, command, "matrix")
            assert reply == f"Case {code} is for mapview, which you don't mentor."
        case = await bot.running.store.case(code)
        assert case is not None
        assert (case.status, case.claimed_by) == ("open", "")
        refused = await bot.running.store.audit_entries(action="refused")
        assert [(e.identity, e.action) for e in refused] == [
            (f"matrix:{AMARA}", "refused:resolve"), (f"matrix:{AMARA}", "refused:claim"),
            (f"matrix:{AMARA}", "refused:handback")]
        assert refused[0].detail == f"{code} done here"


@pytest.mark.parametrize("identity", ["IRC:Ana", "irc:", "ana", "irc:\u200bana"])
async def test_mentor_add_refuses_what_content_would(sqlite_url: str, identity: str) -> None:
    """Regression: `!mentor add pagebot IRC:Ana` was stored, and every `!help` and `!stuck`
    from anyone answered "Sorry, something went wrong" from then on."""
    async with mentoring_bot(sqlite_url) as bot:
        reply = await bot.say(ROOT_ADMIN, f"!mentor add pagebot {identity}", "matrix")
        assert "is not \"network:id\"" in reply or reply.startswith("Usage: !mentor add")
        assert await bot.running.store.mentor_assignments() == []
        assert "!start" in await bot.say("bo", "!help", "irc")


async def test_a_bad_mentor_stored_earlier_is_skipped_not_fatal(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        olga = await bot.running.store.person_for(bot.adapters["irc"].identity("olga"))
        await bot.running.store.commit(UnitOfWork(olga, records=[AddMentor("pagebot",
                                                                           "IRC:Ana")]))
        with caplog.at_level(logging.WARNING, logger="flows.mentoring.roster"):
            await bot.restart()
            assert "!start" in await bot.say("bo", "!help", "irc")
            await bot.script("bo", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"],
                             "irc")
            assert "I've asked" in await bot.say("bo", "!stuck", "irc")
        said = [r.getMessage() for r in caplog.records if "IRC:Ana" in r.getMessage()]
        assert len(said) == 1
        assert "remove it with !mentor remove pagebot IRC:Ana" in said[0]
        reply = await bot.say(ROOT_ADMIN, "!mentor remove pagebot IRC:Ana", "matrix")
        assert reply == "IRC:Ana no longer mentors pagebot (their open cases stay as they are)."
        assert await bot.running.store.mentor_assignments() == []


async def test_mentor_remove_undoes_mentor_add(sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        reply = await bot.say(ROOT_ADMIN, "!mentor add lingo irc:kim", "matrix")
        assert "!mentor remove lingo irc:kim undoes it" in reply
        assert "For mentors:" in await bot.say("kim", "!help", "irc")
        reply = await bot.say(ROOT_ADMIN, "!mentor remove lingo irc:kim", "matrix")
        assert reply.startswith("irc:kim no longer mentors lingo")
        assert "For mentors:" not in await bot.say("kim", "!help", "irc")
        await bot.restart()
        assert "For mentors:" not in await bot.say("kim", "!help", "irc")
        reply = await bot.say(ROOT_ADMIN, "!mentor remove pagebot matrix:@amara:lumen.test",
                              "matrix")
        assert "because the content lists them" in reply
        reply = await bot.say(ROOT_ADMIN, "!mentor remove lingo irc:nobody", "matrix")
        assert "nothing to remove" in reply
        assert "for admins only" in await bot.say("olga", "!mentor remove lingo irc:kim", "irc")


async def test_the_audit_log_filters_by_who_what_and_since(sqlite_url: str,
                                                          tmp_path: Path) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        await bot.say(ROOT_ADMIN, "!mentor add lingo irc:kim", "matrix")
        await bot.say("olga", "!mentor add lingo irc:eve", "irc")  # refused: not an admin
        config = bot.config
    everything = await audit_log(config)
    assert [(e.identity, e.action, e.detail) for e in everything][-2:] == [
        (f"matrix:{ROOT_ADMIN}", "mentor", "add lingo irc:kim"),
        ("irc:olga", "refused:mentor", "add lingo irc:eve")]
    assert [e.action for e in await audit_log(config, who="olga")] == ["refused:mentor"]
    assert [e.identity for e in await audit_log(config, action="refused")] == ["irc:olga"]
    (tmp_path / "wayfinder.toml").write_text(f'[storage]\nurl = "{sqlite_url}"\n',
                                             encoding="utf-8")
    done = await _wayfinder(tmp_path, "audit", "--what", "refused", "--since", "2026-11-01")
    assert done.returncode == 0, done.stderr
    assert "irc:olga" in done.stdout
    assert "refused:mentor" in done.stdout
    assert "irc:eve" in done.stdout  # the detail: what they tried
    assert ROOT_ADMIN not in done.stdout
    done = await _wayfinder(tmp_path, "audit", "--since", "soon")
    assert done.returncode == 2
    assert "--since 'soon': write a duration like 7d or a date like 2026-11-01" in done.stderr
