"""`!forge`: linking forge accounts, verified by a code the person puts in their profile (the
forges are local stand-ins on 127.0.0.1 serving the real APIs' shapes); `!me` shows the
numbers the due job read from the forges."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter
from bot.charts import Chart, draw
from bot.i18n import translator
from bot.model import Capabilities, Network, PersonId
from flows.forge import metrics
from flows.forge.metrics import metrics_chart
from flows.forge.records import ForgeLink
from tests.forges import Contribution, Forges, Profile, running_forges
from tests.harness import FakeClock, Harness, make_config

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def forges() -> AsyncIterator[Forges]:
    async with running_forges() as running:
        yield running


def forge_bot(db_url: str, forges: Forges, **forge: object) -> Harness:
    config = make_config(db_url, forge=forges.settings(**forge))
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
            "Usage: !forge remove gerrit | github | gitlab | phabricator. You have no forge "
            "account linked.")
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


def _week_ago(weeks: float) -> datetime:
    return NOW - timedelta(weeks=weeks)


async def test_me_shows_the_numbers_the_due_job_read_from_the_forges_with_a_chart(
        db_url: str, forges: Forges, monkeypatch: pytest.MonkeyPatch) -> None:
    forges.profiles["github", "ada-l"] = Profile(bio="")
    forges.profiles["gerrit", "alovelace"] = Profile()
    forges.profiles["gitlab", "bo"] = Profile(user_id=7)
    forges.contributions += [
        *(Contribution("github", "merged", "ada-l", _week_ago(w)) for w in (1, 2, 10, 30, 60)),
        *(Contribution("github", "review", "ada-l", _week_ago(w)) for w in (3, 40)),
        Contribution("github", "closed", "ada-l", _week_ago(20)),
        Contribution("github", "merged", "bob", _week_ago(1)),  # someone else's
        *(Contribution("gerrit", "merged", "alovelace", _week_ago(w)) for w in (2, 5)),
        Contribution("gerrit", "review", "alovelace", _week_ago(1)),
        Contribution("gitlab", "merged", "bo", _week_ago(3)),
        Contribution("gitlab", "closed", "bo", _week_ago(30)),
    ]
    telegram = MemoryAdapter(Network("telegram"), Capabilities(files=True))
    config = make_config(db_url, forge=forges.settings(metrics_every="1d", metrics_retry="1h"))
    async with Harness(config, adapters=[MemoryAdapter(Network("irc")), telegram],
                       clock=FakeClock(NOW)) as bot:
        await bot.say("ada", "!start", "telegram")
        await bot.say("bo", "!start", "irc")
        github = _code(await bot.say("ada", "!forge github ada-l", "telegram"))
        gerrit = _code(await bot.say("ada", "!forge gerrit alovelace", "telegram"))
        forges.profiles["gitlab", "bo"].bio = _code(await bot.say("bo", "!forge gitlab bo",
                                                                  "irc"))
        reply = await bot.say("ada", "!me", "telegram")
        assert "GitHub: ada-l (unverified: put" in reply
        assert forges.requests == []
        forges.profiles["github", "ada-l"].bio = f"docs person {github}"
        forges.profiles["gerrit", "alovelace"].status = gerrit
        assert (await bot.say("ada", "!forge verify", "telegram")).count("Verified:") == 2
        assert "Verified: GitLab bo" in await bot.say("bo", "!forge verify", "irc")
        reply = await bot.say("ada", "!me", "telegram")
        assert "GitHub: ada-l (verified 2026-11-02): numbers not read yet" in reply

        asked = len(forges.requests)
        await bot.tick()  # the due job: 6 numbers on GitHub and GitLab, 4 on Gerrit
        assert len(forges.requests) == asked + 16
        assert any(r.startswith("/ghapi/search/issues?q=type%3Apr+author%3Aada-l+is%3Amerged"
                                "+merged%3A%3E%3D2026-10-05") for r in forges.requests)
        before = len(telegram.sent)
        reply = await bot.say("ada", "!me", "telegram")
        assert len(forges.requests) == asked + 16  # !me reads the cache only
        assert ("GitHub: ada-l (verified 2026-11-02): changes merged 2 (4 weeks), 4 (52 weeks); "
                "reviews given 1 (4 weeks), 2 (52 weeks); tasks closed 0 (4 weeks), 1 (52 weeks)"
                " (as of 2026-11-02)") in reply
        assert ("Gerrit: alovelace (verified 2026-11-02): changes merged 1 (4 weeks), 2 (52 "
                "weeks); reviews given 1 (4 weeks), 1 (52 weeks) (as of 2026-11-02)") in reply
        charts = [s.msg.file for s in telegram.sent[before:] if s.msg.file is not None]
        assert len(charts) == 1
        assert charts[0].content_type == "image/png"
        assert charts[0].data.startswith(b"\x89PNG")
        # The chart's words in the person's language: the Chart handed to draw.
        drawn: list[Chart] = []

        def recording_draw(chart: Chart, fmt: str, max_width: float = 14.0
                           ) -> tuple[bytes, int]:
            drawn.append(chart)
            return draw(chart, fmt, max_width)

        monkeypatch.setattr(metrics, "draw", recording_draw)
        await bot.say("ada", "!language es", "telegram")
        await bot.say("ada", "!me", "telegram")
        (chart,) = drawn
        assert chart.title.startswith("Mis contribuciones (")
        assert "GitHub ada-l" in chart.title
        assert chart.ylabel == "cantidad"
        assert list(chart.series) == ["últimas 4 semanas", "últimas 52 semanas"]
        assert "GitHub: cambios fusionados" in chart.labels
        monkeypatch.undo()
        await bot.say("ada", "!language en", "telegram")
        reply = await bot.say("bo", "!me", "irc")  # IRC carries no files: the numbers alone
        assert ("GitLab: bo (verified 2026-11-02): changes merged 1 (4 weeks), 1 (52 weeks); "
                "reviews given 0 (4 weeks), 0 (52 weeks); tasks closed 0 (4 weeks), 1 (52 "
                "weeks)") in reply
        assert not [s for s in bot.adapters["irc"].sent if s.msg.file is not None]

        # Not due again for a day; then a forge that is down keeps the last good numbers.
        bot.clock.advance(hours=2)
        await bot.tick()
        assert len(forges.requests) == asked + 16
        forges.contributions.append(Contribution("github", "merged", "ada-l", bot.clock.now))
        forges.mode = "down"
        bot.clock.advance(days=1)
        await bot.tick()
        reply = await bot.say("ada", "!me", "telegram")
        assert "changes merged 2 (4 weeks), 4 (52 weeks)" in reply
        forges.mode = "ok"
        bot.clock.advance(hours=1, minutes=1)  # metrics_retry
        await bot.tick()
        reply = await bot.say("ada", "!me", "telegram")
        assert "changes merged 3 (4 weeks), 5 (52 weeks)" in reply
        assert "(as of 2026-11-03)" in reply


def test_the_contributions_chart_has_a_bar_per_metric_and_window() -> None:
    links = [ForgeLink(PersonId(1), "github", "github", "ada-l", "c", NOW, NOW,
                       {"merged_4": 2, "merged_52": 4, "reviews_4": 1, "reviews_52": 2,
                        "closed_4": 0, "closed_52": 1}, NOW, NOW, ""),
             ForgeLink(PersonId(1), "gerrit", "gerrit", "al", "c", NOW, NOW,
                       {"merged_4": 2, "merged_52": 2, "reviews_4": 1, "reviews_52": 1,
                        "closed_4": None, "closed_52": None}, NOW, NOW, ""),
             ForgeLink(PersonId(1), "gitlab", "gitlab", "al", "c", NOW, None, {}, None, None,
                       "")]  # unverified: not drawn
    chart = metrics_chart(links)
    assert chart is not None
    assert chart.labels == ["GitHub: changes merged", "GitHub: reviews given",
                            "GitHub: tasks closed", "Gerrit: changes merged",
                            "Gerrit: reviews given"]
    svg, bars = draw(chart, "svg", 7.0)
    assert bars == 10
    text = svg.decode()
    assert "My contributions (GitHub ada-l, Gerrit al)" in text
    assert "last 4 weeks" in text
    assert "last 52 weeks" in text
    assert text.count('id="bar-') == 10
    assert metrics_chart(links[2:]) is None
    # In the reader's language: title, axis, bars and legend (the forges' names as they are).
    chart = metrics_chart(links, translator("pt_BR"))
    assert chart is not None
    assert chart.title == "Minhas contribuições (GitHub ada-l, Gerrit al)"
    assert chart.ylabel == "quantidade"
    assert chart.labels[:2] == ["GitHub: mudanças mescladas", "GitHub: revisões feitas"]
    text = draw(chart, "svg", 7.0)[0].decode()
    for words in ("Minhas contribuições", "quantidade", "últimas 4 semanas",
                  "últimas 52 semanas", "revisões feitas"):
        assert words in text
    assert "last 4 weeks" not in text
    assert "My contributions" not in text


async def test_a_phabricator_account_is_verified_by_a_paste_and_counted_through_conduit(
        db_url: str, forges: Forges, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYFINDER_TEST_PHAB_TOKEN", "not-the-token")
    forges.profiles["phabricator", "alovelace"] = Profile(user_id=12, gists=["my notes"])
    # More than a Conduit page (100) of reviews: counted across pages.
    forges.contributions += [
        *(Contribution("phabricator", "review", "alovelace", _week_ago(1)) for _ in range(130)),
        *(Contribution("phabricator", "merged", "alovelace", _week_ago(w)) for w in (2, 20)),
        Contribution("phabricator", "closed", "alovelace", _week_ago(3)),
    ]
    async with forge_bot(db_url, forges) as bot:
        reply = await bot.say("ada", "!forge phabricator alovelace", "irc")
        code = _code(reply)
        assert "the title of a paste you write on Phabricator" in reply
        reply = await bot.say("ada", "!forge verify", "irc")  # a wrong token: refused
        assert reply.startswith("I couldn't ask Phabricator just now (Phabricator refused the "
                                "request (ERR-INVALID-AUTH)).")
        monkeypatch.setenv("WAYFINDER_TEST_PHAB_TOKEN", forges.conduit_token)
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply.startswith(f"I didn't find {code} in the title of a paste")
        forges.profiles["phabricator", "alovelace"].gists.append(f"Wayfinder {code}")
        reply = await bot.say("ada", "!forge verify", "irc")
        assert reply.startswith("Verified: Phabricator alovelace is yours.")
        await bot.tick()
        reply = await bot.say("ada", "!me", "irc")
        assert ("Phabricator: alovelace (verified 2026-11-02): changes merged 1 (4 weeks), 2 "
                "(52 weeks); reviews given 130 (4 weeks), 130 (52 weeks); tasks closed 1 (4 "
                "weeks), 1 (52 weeks)") in reply
        # Per window: one page of merged revisions, two of reviews (130 > 100).
        assert forges.requests.count("/ph/api/differential.revision.search") == 6


async def test_a_forge_that_refuses_a_request_is_asked_nothing_more_in_that_scan(
        sqlite_url: str, forges: Forges) -> None:
    people = ("ada", "bo", "cy")
    for who in people:
        forges.profiles["github", who] = Profile()
        forges.contributions.append(Contribution("github", "merged", who, _week_ago(1)))
    async with forge_bot(sqlite_url, forges, concurrency=1) as bot:
        for who in people:
            forges.profiles["github", who].bio = _code(await bot.say(who, f"!forge github {who}",
                                                                     "irc"))
            assert "Verified:" in await bot.say(who, "!forge verify", "irc")
        forges.mode = "limited"  # GitHub's search rate limit is used up
        asked = len(forges.requests)
        await bot.tick()
        assert len(forges.requests) == asked + 1  # one refusal, then nothing more
        for who in people:
            assert (f"GitHub: {who} (verified 2026-11-02): numbers not read yet (GitHub refused "
                    "the request (403))") in await bot.say(who, "!me", "irc")
        forges.mode = "ok"
        bot.clock.advance(hours=1, minutes=1)  # metrics_retry
        await bot.tick()
        assert len(forges.requests) == asked + 1 + 3 * 6
        for who in people:
            assert "changes merged 1 (4 weeks), 1 (52 weeks)" in await bot.say(who, "!me", "irc")


async def test_linking_two_accounts_keeps_both_peoples_forge_links(
        db_url: str, forges: Forges) -> None:
    """A merge keeps the target's link on each forge, else the source's (storage/forge.py)."""
    forges.profiles["github", "ada-l"] = Profile()
    config = make_config(db_url, forge=forges.settings())
    async with Harness(config, networks=("irc", "matrix"), clock=FakeClock(NOW)) as bot:
        forges.profiles["github", "ada-l"].bio = _code(await bot.say(
            "ada", "!forge github ada-l", "irc"))
        assert "Verified:" in await bot.say("ada", "!forge verify", "irc")
        await bot.say("ada", "!forge gitlab ada-irc", "irc")
        await bot.say("@ada:lumen.test", "!forge gitlab ada-matrix", "matrix")
        await bot.say("@ada:lumen.test", "!forge gerrit alovelace", "matrix")
        reply = await bot.say("ada", "!link", "irc")
        found = re.search(r"!link ([A-Z0-9]{4}-[A-Z0-9]{4})", reply)
        assert found is not None, reply
        await bot.say("@ada:lumen.test", f"!link {found.group(1)}", "matrix")
        listed = await bot.say("ada", "!forge", "irc")
        assert "GitHub: ada-l (verified 2026-11-02)" in listed
        assert "Gerrit: alovelace (unverified" in listed
        assert listed.count("GitLab:") == 1  # one link per forge: the target's
        assert listed == await bot.say("@ada:lumen.test", "!forge", "matrix")
