"""`!forge`: linking forge accounts, verified by a code the person puts in their profile (the
forges are local stand-ins on 127.0.0.1 serving the real APIs' shapes); `!me` shows the
numbers the due job read from the forges."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.forges import Forges, Profile, running_forges
from tests.harness import FakeClock, Harness, make_config

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def forges() -> AsyncIterator[Forges]:
    async with running_forges() as running:
        yield running


def forge_bot(db_url: str, forges: Forges, **forge: object) -> Harness:
    config = make_config(db_url, forge={"hosts": forges.hosts(), "timeout_seconds": 1.0,
                                        **forge})
    return Harness(config, networks=("irc",), clock=FakeClock(NOW))


def _code(reply: str) -> str:
    found = re.search(r"put (wayfinder-[A-Z0-9]{6}) in", reply)
    assert found is not None, reply
    return found.group(1)


async def test_a_link_is_verified_only_once_the_code_is_in_the_profile(
        db_url: str, forges: Forges) -> None:
    async with forge_bot(db_url, forges) as bot:
        reply = await bot.say("ada", "!forge", "irc")
        assert reply.startswith("Link your forge accounts so that !me can show")
        reply = await bot.say("ada", "!forge github @ada-l", "irc")
        assert reply.startswith("Linked your GitHub account ada-l, unverified for now.")
        code = _code(reply)
        assert "your GitHub profile's bio, or the description of a public gist" in reply
        assert forges.requests == []  # linking asks nothing: only !forge verify does
        reply = await bot.say("ada", "!forge", "irc")
        assert f"GitHub: ada-l (unverified: put {code} in your GitHub profile's bio" in reply

        # No such account on the forge yet; then one without the code.
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply == ("GitHub has no account named ada-l. Check the spelling and link it "
                         "again with !forge github NAME.")
        forges.profiles["github", "ada-l"] = Profile(bio="Python, docs", gists=["notes"])
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply.startswith(f"I didn't find {code} in your GitHub profile's bio")
        assert "unverified" in await bot.say("ada", "!forge", "irc")
        forges.mode = "down"
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply.startswith("I couldn't ask GitHub just now (GitHub answered with an error "
                                "(503)).")
        forges.mode = "ok"
        # In a gist's description: verified.
        forges.profiles["github", "ada-l"].gists.append(f"my {code} for Wayfinder")
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply.startswith("Verified: GitHub ada-l is yours.")
        assert "/ghapi/users/ada-l/gists?per_page=30" in forges.requests
        assert "GitHub: ada-l (verified 2026-11-02)" in await bot.say("ada", "!forge", "irc")
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply == "You have no unverified forge account. Type !forge to see yours."

        # GitLab: the status message; Gerrit: the account's status.
        forges.profiles["gitlab", "ada"] = Profile(bio="hi", user_id=41)
        forges.profiles["gerrit", "alovelace"] = Profile()
        gitlab = _code(await bot.say("ada", "!forge gitlab ada", "irc"))
        gerrit = _code(await bot.say("ada", "!forge gerrit alovelace", "irc"))
        forges.profiles["gitlab", "ada"].status = f"verifying {gitlab}"
        reply = await bot.say("ada", "!forge verify", "irc")
        assert f"I didn't find {gerrit} in your Gerrit account's status" in reply
        assert "Verified: GitLab ada is yours." in reply
        forges.profiles["gerrit", "alovelace"].status = gerrit
        assert "Verified: Gerrit alovelace is yours." in await bot.say("ada", "!forge verify",
                                                                        "irc")

        # Linking another account on a forge replaces the link, unverified again.
        reply = await bot.say("ada", "!forge github ada-lovelace", "irc")
        assert reply.startswith("Linked your GitHub account ada-lovelace (instead of ada-l)")
        listed = await bot.say("ada", "!forge", "irc")
        assert "GitHub: ada-lovelace (unverified" in listed
        assert "GitLab: ada (verified 2026-11-02)" in listed
        reply = await bot.say("ada", "!forge remove github", "irc")
        assert reply == ("Removed the link to your GitHub account ada-lovelace, and the numbers "
                         "read from it.")
        assert "GitHub" not in await bot.say("ada", "!forge", "irc")


async def test_bad_forge_input_gets_a_friendly_reply_and_changes_nothing(
        sqlite_url: str, forges: Forges, tmp_path: Path) -> None:
    async with forge_bot(sqlite_url, forges) as bot:
        assert (await bot.say("ada", "!forge github", "irc")).startswith(
            "Usage: !forge github NAME, with your GitHub username")
        assert (await bot.say("ada", "!forge github two words", "irc")).startswith(
            "Usage: !forge github NAME")
        assert (await bot.say("ada", "!forge remove", "irc")).startswith(
            "Usage: !forge remove gerrit | github | gitlab. You have no forge account linked.")
        assert (await bot.say("ada", "!forge verify", "irc")).startswith(
            "You have no unverified forge account. Link your forge accounts")
        reply = await bot.say("ada", "!forge sourcehut ada", "irc")
        assert "!forge has no sub-command 'sourcehut'" in reply
        assert (await bot.say("ada", "!forge", "irc")).startswith("Link your forge accounts")
        assert forges.requests == []
    bare_url = f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}"
    async with Harness(make_config(bare_url), networks=("irc",)) as bare:
        assert await bare.say("ada", "!forge gitlab ada", "irc") == (
            "This community has no forge set up, so I can't link a GitLab account.")
