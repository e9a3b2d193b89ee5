"""`!done LINK` checked against forges (local stand-ins on 127.0.0.1 serving the real APIs'
shapes): merged, open then merged on a later due check, abandoned, a forge that cannot answer
(the case goes to a mentor who can claim it), bad links; and the checkpoint kinds."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.model import ExternalId, Identity, Network, PersonId
from bot.wiring import load_content
from flows.forge.links import change_of, find_url, locate
from flows.forge.settings import ForgeHost
from tests.forges import Change, Forges, running_forges
from tests.harness import CONTENT, FakeClock, Harness, make_config
from tests.tracker_standins import Trackers, github_issue, serving

AMARA = "@amara:lumen.test"  # Pagebot mentor on Matrix, Mon-Fri 09-18 Berlin
MONDAY_10_BERLIN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TO_FIRST_TASK = ["!start", "!skip", "!skip", "!skip", "Pagebot", "done", "main", "!1",
                 "pytest tests/unit", "!skip",
                 "https://code.lumen.test/pagebot/pagebot/-/merge_requests/7"]
FIXES_T1001 = "Fix the typo in the replace script's help\n\nBug: T1001"


@pytest.fixture
async def forges() -> AsyncIterator[Forges]:
    async with running_forges() as running:
        yield running


def forge_bot(db_url: str, forges: Forges, content: Path = CONTENT, **forge: object) -> Harness:
    config = make_config(db_url, content={"path": str(content)},
                         forge={"hosts": forges.hosts(), "timeout_seconds": 0.5, **forge})
    return Harness(config, networks=("irc", "matrix"), clock=FakeClock(MONDAY_10_BERLIN))


async def first_task(bot: Harness, who: str = "ada") -> str:
    reply = await bot.script(who, TO_FIRST_TASK, "irc")
    assert "Your task: Fix the typo in the help text of the `replace` script" in reply
    return reply


def _sent_to(bot: Harness, network: str, external_id: str) -> list[str]:
    return [s.text for s in bot.adapters[network].sent
            if getattr(s.msg.to, "external_id", None) == external_id]


def _last_on_irc(bot: Harness) -> str:
    """What the bot last sent on IRC (where ada talks to it)."""
    return bot.adapters["irc"].sent[-1].text


def _case(text: str) -> str:
    found = re.search(r"case ([A-Z0-9]{5})", text)
    assert found is not None, text
    return found.group(1)


async def test_a_merged_gerrit_change_about_the_task_completes_it(
        db_url: str, forges: Forges) -> None:
    forges.changes["gerrit", "pagebot/core", 4242] = Change("merged", "Fix replace help typo",
                                                           FIXES_T1001)
    async with forge_bot(db_url, forges) as bot:
        await first_task(bot)
        reply = await bot.say("ada", f"!done {forges.base}/r/c/pagebot/core/+/4242", "irc")
        assert "Merged! Your Gerrit change 4242 in pagebot/core is part of Pagebot now." in reply
        assert "That completes your task \"Fix the typo" in reply
        code = re.search(r"first-task certificate code is ([A-Z0-9]{4}-[A-Z0-9]{4})", reply)
        assert code is not None, reply
        assert "You're now on step 4, Get involved" in reply
        # Gerrit's REST API was asked, by project~number, for the current commit message.
        assert forges.requests == [
            "/r/changes/pagebot%2Fcore~4242?o=CURRENT_REVISION&o=CURRENT_COMMIT&o=DETAILED_ACCOUNTS"]
        found = await bot.running.store.certificate(code.group(1))
        assert found is not None
        assert (found.holder, found.workshop_id) == ("", "first-task:pagebot-help-typo")
        assert "What name should your certificate carry?" in reply  # never an identity key
        reply = await bot.say("ada", "!status", "irc")
        assert "[>] 4. Get involved: 1 task done" in reply
        assert await bot.running.store.active_claim(await _person(bot, "ada")) is None


async def _person(bot: Harness, who: str) -> PersonId:
    return await bot.running.store.person_for(Identity(Network("irc"), ExternalId(who), False))


async def test_an_open_pull_request_is_checked_again_until_merged(
        db_url: str, forges: Forges) -> None:
    pull = Change("open", "Fix the typo in replace's help",
                  "Fixes https://tasks.lumen.test/T1001")
    forges.changes["github", "lumen/pagebot", 17] = pull
    async with forge_bot(db_url, forges, recheck_every="1h") as bot:
        await first_task(bot)
        reply = await bot.say("ada", f"!done {forges.base}/gh/lumen/pagebot/pull/17/files",
                              "irc")
        assert "isn't merged yet: it is still in review" in reply
        assert "I'll check it again every 1 hour and tell you when it's merged" in reply
        assert "Tip:" not in reply  # it mentions the task
        assert "[>] 3. First task: working on" in await bot.say("ada", "!status", "irc")

        before = len(forges.requests)
        await bot.tick()  # not due yet: the forge is not asked
        assert len(forges.requests) == before
        bot.clock.advance(hours=1, minutes=1)
        said = len(bot.adapters["irc"].sent)
        await bot.tick()  # due, still open: asked once, nothing said
        assert len(forges.requests) == before + 1
        assert len(bot.adapters["irc"].sent) == said

        # The bot restarts: the check is durable.
        await bot.restart()
        pull.status = "merged"
        bot.clock.advance(hours=1, minutes=1)
        await bot.tick()
        # The news; the certificate (the question of its name, the offer to rate the task).
        told = "\n\n".join(sent.text for sent in bot.adapters["irc"].sent[-2:])
        assert told.startswith("Merged! Your pull request #17 in lumen/pagebot is part of "
                               "Pagebot now.")
        assert "first-task certificate code is" in told
        bot.clock.advance(hours=2)
        requests = len(forges.requests)
        await bot.tick()  # followed no more
        assert len(forges.requests) == requests
        assert "[>] 4. Get involved: 1 task done" in await bot.say("ada", "!status", "irc")
        reply = await bot.say("ada", "!task", "irc")
        assert "Your task:" in reply
        assert "Fix the typo" not in reply


async def test_an_abandoned_gitlab_merge_request_keeps_the_task(
        sqlite_url: str, forges: Forges) -> None:
    forges.changes["gitlab", "lumen/pagebot", 3] = Change("abandoned", "Typo", "T1001")
    async with forge_bot(sqlite_url, forges) as bot:
        await first_task(bot)
        reply = await bot.say("ada", f"!done {forges.base}/gl/lumen/pagebot/-/merge_requests/3",
                              "irc")
        assert reply == ("Your merge request !3 in lumen/pagebot (\"Typo\") was closed without "
                         "being merged. Your task is still reserved for you: when you have a "
                         "new change, type !done with its link, or !release to give the task "
                         "back.")
        assert forges.requests == ["/gl/api/v4/projects/lumen%2Fpagebot/merge_requests/3"]
        assert "[>] 3. First task: working on" in await bot.say("ada", "!status", "irc")


@pytest.mark.parametrize("mode", ["down", "slow", "garbage", "missing"])
async def test_a_change_that_cannot_be_checked_goes_to_a_mentor_who_can_claim_it(
        sqlite_url: str, forges: Forges, mode: str) -> None:
    if mode != "missing":
        forges.changes["gerrit", "pagebot/core", 7] = Change("merged", "Typo", FIXES_T1001)
    async with forge_bot(sqlite_url, forges) as bot:
        await first_task(bot)
        forges.mode = "ok" if mode == "missing" else mode
        reply = await bot.say("ada", f"!done {forges.base}/r/c/pagebot/core/+/7", "irc")
        why = {"down": "Gerrit answered with an error (503)",
               "slow": "Gerrit did not answer within 0.5 seconds",
               "garbage": "Gerrit answered something I couldn't read",
               "missing": "it isn't there"}[mode]
        assert reply.startswith(f"I couldn't check your Gerrit change 7 in pagebot/core: {why}. "
                                "I've asked Amara (a Pagebot mentor) to help you (case ")
        assert "Your task stays reserved for you meanwhile." in reply
        code = _case(reply)
        pings = _sent_to(bot, "matrix", AMARA)
        assert len(pings) == 1
        assert (f"Why: they say their task is done with {forges.base}/r/c/pagebot/core/+/7, "
                f"which I can't check ({why}). Please look at it with them.") in pings[0]
        assert 'Stuck on: the task "Fix the typo in the help text' in pings[0]
        assert f"!claim {code}" in pings[0]
        claimed = await bot.say(AMARA, f"!claim {code}", "matrix")
        assert f"Case {code} is yours: ada, stuck on the task" in claimed
        assert "Amara will help you" in _last_on_irc(bot)


async def test_a_link_to_a_forge_nobody_configured_goes_to_a_mentor_unasked(
        sqlite_url: str, forges: Forges) -> None:
    async with forge_bot(sqlite_url, forges) as bot:
        await first_task(bot)
        reply = await bot.say("ada", "!done https://forge.elsewhere.example/pr/1", "irc")
        assert reply.startswith("I can't check that link myself: forge.elsewhere.example is "
                                "not a forge I can check for this project. I've asked Amara")
        assert forges.requests == []  # no traffic to anywhere but the configured forges
        assert len(_sent_to(bot, "matrix", AMARA)) == 1


async def test_bad_links_get_a_friendly_reply_and_change_nothing(
        sqlite_url: str, forges: Forges) -> None:
    async with forge_bot(sqlite_url, forges) as bot:
        await first_task(bot)
        reply = await bot.say("ada", "!done my change is in review", "irc")
        assert reply.startswith("That doesn't look like a link. Type !done followed by the "
                                "link to your change: a Gerrit change (")
        reply = await bot.say("ada", f"!done {forges.base}/gh/lumen/pagebot/issues/3", "irc")
        assert reply == (f"That link is on {forges.base}/gh, but it isn't the link of a change. "
                         "Open your change and copy its address: it looks like "
                         f"{forges.base}/gh/owner/repo/pull/7.")
        assert forges.requests == []
        assert _sent_to(bot, "matrix", AMARA) == []
        assert "[>] 3. First task: working on" in await bot.say("ada", "!status", "irc")


async def test_a_merged_change_that_does_not_mention_the_task_goes_to_a_mentor(
        sqlite_url: str, forges: Forges) -> None:
    forges.changes["github", "lumen/pagebot", 5] = Change("merged", "Refactor", "cleanup")
    async with forge_bot(sqlite_url, forges) as bot:
        await first_task(bot)
        reply = await bot.say("ada", f"!done {forges.base}/gh/lumen/pagebot/pull/5", "irc")
        assert reply.startswith("Your pull request #5 in lumen/pagebot (\"Refactor\") is "
                                "merged, but it doesn't mention your task "
                                "(https://tasks.lumen.test/T1001), so I can't tell it's the one. "
                                "I've asked Amara")
        assert "[>] 3. First task: working on" in await bot.say("ada", "!status", "irc")


async def test_a_forge_down_at_the_due_check_is_asked_again_then_goes_to_a_mentor(
        db_url: str, forges: Forges) -> None:
    forges.changes["gerrit", "pagebot/core", 9] = Change("open", "Typo", FIXES_T1001)
    async with forge_bot(db_url, forges, failures_before_mentor=2) as bot:
        await first_task(bot)
        reply = await bot.say("ada", f"!done {forges.base}/r/9", "irc")
        assert "Your Gerrit change 9 (\"Typo\") isn't merged yet" in reply
        forges.mode = "down"
        bot.clock.advance(hours=1, minutes=1)
        await bot.tick()  # the first failure: quietly asked again later
        assert _sent_to(bot, "matrix", AMARA) == []
        bot.clock.advance(hours=1, minutes=1)
        await bot.tick()  # the second: a mentor
        told = _last_on_irc(bot)
        assert told.startswith("I couldn't check your Gerrit change 9 again: Gerrit answered "
                               "with an error (503). I've asked Amara (a Pagebot mentor)")
        assert len(_sent_to(bot, "matrix", AMARA)) == 1
        bot.clock.advance(hours=2)
        requests = len(forges.requests)
        await bot.tick()
        assert len(forges.requests) == requests  # no longer followed


# -- link parsing ---------------------------------------------------------------------------
HOSTS = {
    "wm": ForgeHost(kind="gerrit", url="https://gerrit.wikimedia.org/r"),
    "gh": ForgeHost(kind="github", url="https://github.com"),
    "gl": ForgeHost(kind="gitlab", url="https://gitlab.wikimedia.org"),
}


@pytest.mark.parametrize(("text", "expected"), [
    ("https://gerrit.wikimedia.org/r/c/mediawiki/core/+/1234567", ("mediawiki/core", 1234567)),
    ("<https://gerrit.wikimedia.org/r/c/mediawiki/core/+/1234567/3>", ("mediawiki/core",
                                                                       1234567)),
    ("https://gerrit.wikimedia.org/r/1234567.", ("", 1234567)),
    ("https://gerrit.wikimedia.org/r/#/c/1234567/", ("", 1234567)),
    ("see https://github.com/wikimedia/pywikibot/pull/42/files", ("wikimedia/pywikibot", 42)),
    ("https://gitlab.wikimedia.org/repos/cloud/toolforge/-/merge_requests/8",
     ("repos/cloud/toolforge", 8)),
    ("https://github.com/wikimedia/pywikibot/issues/42", None),
    ("https://gerrit.wikimedia.org/r/admin/repos", None),
])
def test_links_name_their_change(text: str, expected: tuple[str, int] | None) -> None:
    url = find_url(text)
    assert url is not None
    located = locate(url, HOSTS)
    assert located is not None
    change = change_of(located)
    assert (None if change is None else (change.project, change.number)) == expected


def test_only_configured_hosts_are_located() -> None:
    assert locate("https://gerrit.wikimedia.org.evil.example/r/123", HOSTS) is None
    assert locate("http://github.com/a/b/pull/1", HOSTS) is None  # another scheme
    assert locate("https://gerrit.wikimedia.org/other/123", HOSTS) is None  # outside /r


# -- checkpoints the forge can confirm -------------------------------------------------------
CHECKPOINT_WORKSHOP = '''
title = "Get started with Pagebot"

[[steps]]
id = "account"
title = "Make a Gerrit account"
body = "Create your account on Gerrit and sign in once."
checkpoint = { kind = "gerrit-account" }

[[steps]]
id = "fork"
title = "Fork the repository"
body = "Fork lumen/pagebot on GitHub."
checkpoint = { kind = "forge-link", forge = "github" }

[[steps]]
id = "draft"
title = "Open a draft pull request"
body = "Open a draft pull request from your fork."
checkpoint = { kind = "forge-link", forge = "github", prompt = "Paste your pull request's link." }
'''


def checkpoint_content(tmp_path: Path, workshop: str = CHECKPOINT_WORKSHOP) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (root / "workshops" / "pagebot-get-started.toml").write_text(workshop)
    return root


async def test_checkpoints_ask_the_forge_for_an_account_and_a_repository(
        sqlite_url: str, forges: Forges, tmp_path: Path) -> None:
    forges.accounts.add("ada-l")
    forges.repos.add("ada-l/pagebot")
    async with forge_bot(sqlite_url, forges, checkpoint_content(tmp_path)) as bot:
        reply = await bot.script("ada", ["!start", "!skip", "!skip", "!skip", "Pagebot"], "irc")
        assert "step 1 of 3, Make a Gerrit account" in reply
        assert "Checkpoint: What is your Gerrit username?" in reply
        reply = await bot.say("ada", "ada-lovelace", "irc")
        assert reply == ("Gerrit has no account named 'ada-lovelace'. Check the spelling (it's "
                         "the username on Gerrit's settings page) and send it again.")
        reply = await bot.say("ada", "two words", "irc")
        assert reply.startswith("Send just your Gerrit username")
        forges.mode = "down"
        reply = await bot.say("ada", "ada-l", "irc")
        assert reply == ("I couldn't check that with Gerrit just now (Gerrit answered with an "
                         "error (503)). Try again in a few minutes, or type !stuck to ask a "
                         "mentor.")
        forges.mode = "ok"
        reply = await bot.say("ada", "@ada-l", "irc")
        assert "step 2 of 3, Fork the repository" in reply
        assert "Checkpoint: Paste the link to your repository or change on GitHub." in reply
        assert "/r/accounts/ada-l" in forges.requests

        reply = await bot.say("ada", "https://github.com/ada-l/pagebot", "irc")
        assert reply == ("Paste the full link to your repository or change on GitHub (it "
                         f"starts with {forges.base}/gh/).")
        reply = await bot.say("ada", f"{forges.base}/gh/ada-l/pagebot-fork", "irc")
        assert reply == ("GitHub has nothing at that link. Check it (is it public?) and paste "
                         "it again.")
        reply = await bot.say("ada", f"{forges.base}/gh/ada-l/pagebot", "irc")
        assert "step 3 of 3, Open a draft pull request" in reply
        assert "Checkpoint: Paste your pull request's link." in reply
        assert "/ghapi/repos/ada-l/pagebot" in forges.requests

        # Of theirs: the fork's owner is their GitHub account from now on.
        forges.changes["github", "lumen/pagebot", 30] = Change("open", "WIP", author="bob")
        forges.changes["github", "lumen/pagebot", 31] = Change("open", "WIP", author="ada-l")
        reply = await bot.say("ada", f"{forges.base}/gh/lumen/pagebot/pull/30", "irc")
        assert reply == ("That belongs to bob, but your GitHub account is ada-l. Paste the link "
                         "to yours.")
        reply = await bot.say("ada", f"{forges.base}/gh/lumen/pagebot/pull/31", "irc")
        assert 'You finished "Get started with Pagebot". Congratulations!' in reply
        assert "Your task: Fix the typo in the help text" in reply

        # !done with a change by someone else than their Gerrit account goes to a mentor.
        forges.changes["gerrit", "pagebot/core", 77] = Change("merged", "Typo", FIXES_T1001,
                                                             author="bob")
        reply = await bot.say("ada", f"!done {forges.base}/r/c/pagebot/core/+/77", "irc")
        assert reply.startswith("Your Gerrit change 77 in pagebot/core (\"Typo\") was made by "
                                "bob, but your Gerrit account is ada-l, so I can't count it as "
                                "yours. I've asked Amara (a Pagebot mentor) to help you (case ")
        assert "[>] 3. First task: working on" in await bot.say("ada", "!status", "irc")


def test_content_check_names_the_file_and_key_of_a_bad_forge_checkpoint(tmp_path: Path) -> None:
    bad = CHECKPOINT_WORKSHOP.replace('forge = "github"', 'forge = "githb"').replace(
        '{ kind = "gerrit-account" }', '{ kind = "gerrit-account", forge = "gerrit" }')
    with pytest.raises(ContentError) as err:
        load_content(checkpoint_content(tmp_path, bad))
    problems = {(p.file.rsplit("/", 1)[-1], p.key) for p in err.value.problems}
    assert {("pagebot-get-started.toml", "steps[0].checkpoint.forge"),
            ("pagebot-get-started.toml", "steps[1].checkpoint.forge")} <= problems
    text = str(err.value)
    assert ("workshops/pagebot-get-started.toml: steps[1].checkpoint.forge: Input should be "
            "'gerrit', 'github' or 'gitlab'") in text
    assert "workshops/pagebot-get-started.toml: steps[0].checkpoint.forge: unknown key" in text


def test_the_shipped_content_still_loads() -> None:
    load_content(CONTENT)


async def test_the_shared_client_is_taken_only_with_forges_and_given_back_at_stop(
        sqlite_url: str, forges: Forges) -> None:
    from bot.http import SHARED_HTTP

    users = SHARED_HTTP.users
    async with Harness(make_config(sqlite_url)):  # no [forge] hosts: no client
        assert SHARED_HTTP.users == users
    async with forge_bot(sqlite_url, forges):
        assert SHARED_HTTP.users == users + 1
    assert SHARED_HTTP.users == users


async def test_a_live_task_from_a_tracker_is_completed_by_a_pull_request_naming_its_issue(
        sqlite_url: str, forges: Forges, tmp_path: Path) -> None:
    """The task came from the project's GitHub issues (flows/tracker); the pull request says
    "Fixes #3", the issue's number."""
    async with serving(Trackers()) as trackers:
        trackers.github["lumen/handbook"] = [
            github_issue(3, "Add a docs page on review", ("good first issue",))]
        root = tmp_path / "content"
        shutil.copytree(CONTENT, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        handbook = root / "projects" / "handbook.toml"
        handbook.write_text(handbook.read_text() + '\n[[task_sources]]\nkind = "github"\n'
                            f'repo = "lumen/handbook"\nurl = "{trackers.url}"\n')
        forges.changes["github", "lumen/handbook", 8] = Change(
            "merged", "Docs: a page on review", "Fixes #3")
        config = make_config(sqlite_url, content={"path": str(root)},
                             forge={"hosts": forges.hosts(), "timeout_seconds": 0.5})
        async with Harness(config, clock=FakeClock(MONDAY_10_BERLIN)) as bot:
            tracker = bot.running.services["tracker"]
            await tracker.tick()
            await tracker.settle()  # type: ignore[attr-defined]
            reply = await bot.script("zed", [
                "!start", "!skip", "!skip", "!skip", "Handbook", "done",
                "[Lumen](https://lumen.test)", "done",
                "https://code.lumen.test/handbook/handbook/-/merge_requests/3"])
            assert "Your task: Add a docs page on review" in reply
            reply = await bot.say("zed", f"!done {forges.base}/gh/lumen/handbook/pull/8")
            assert reply.startswith("Merged! Your pull request #8 in lumen/handbook is part of "
                                    "Handbook now. That completes your task \"Add a docs page "
                                    "on review\"")
            assert "[>] 4. Get involved: 1 task done" in await bot.say("zed", "!status")


async def test_a_task_given_back_while_its_change_is_followed_is_followed_no_more(
        sqlite_url: str, forges: Forges) -> None:
    forges.changes["gitlab", "lumen/pagebot", 4] = Change("open", "Typo", "T1001")
    async with forge_bot(sqlite_url, forges) as bot:
        await first_task(bot)
        reply = await bot.say("ada", f"!done {forges.base}/gl/lumen/pagebot/-/merge_requests/4",
                              "irc")
        assert "Your merge request !4 in lumen/pagebot (\"Typo\") isn't merged yet" in reply
        assert "Released" in await bot.say("ada", "!release", "irc")
        forges.changes["gitlab", "lumen/pagebot", 4].status = "merged"
        bot.clock.advance(hours=1, minutes=1)
        said = len(bot.adapters["irc"].sent)
        requests = len(forges.requests)
        await bot.tick()  # asked once more, then dropped quietly: the task is not theirs now
        assert len(bot.adapters["irc"].sent) == said
        assert len(forges.requests) == requests + 1
        watch = await bot.running.store.watch_of(await _person(bot, "ada"))
        assert watch is not None
        assert (watch.status, watch.next_check_at) == ("dropped", None)
        bot.clock.advance(hours=2)
        await bot.tick()
        assert len(forges.requests) == requests + 1
        assert "[>] 4. Get involved" not in await bot.say("ada", "!status", "irc")
