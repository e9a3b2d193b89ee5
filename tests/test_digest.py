"""The weekly digest: off by default; on its day and hour, one private message per mentor
(open cases, new mentees, stuck newcomers) and per organizer (the funnel's week, events
coming up, dead letters), once a week, also across restarts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.config import Config
from bot.model import Identity
from flows.digest.settings import DigestConfig
from flows.digest.weekly import digests, week_of
from tests.harness import FakeClock, Harness, make_config

LINGO = ["!start", "!skip", "!skip", "!skip", "Lingo"]
MONDAY_7 = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)


def digest_config(db_url: str, **digest: object) -> Config:
    return make_config(db_url, roles={"organizers": ["memory:olga"], "admins": ["memory:root"]},
                       digest={"enabled": True, "day": "mon", "hour": 9, **digest},
                       events={"quiet_hours": ""})


def digests_to(bot: Harness, who: str) -> list[str]:
    """Digests sent to `who`, privately (to their identity, not a room)."""
    return [s.text for s in bot.adapters["memory"].sent
            if isinstance(s.msg.to, Identity) and s.msg.to.external_id == who
            and s.text.startswith("Your weekly digest")]


def test_the_week_is_the_latest_slot_in_the_configured_time_zone() -> None:
    settings = DigestConfig(day="mon", hour=9, timezone="Europe/Lisbon")
    assert week_of(datetime(2026, 11, 2, 9, 0, tzinfo=UTC), settings) == datetime(
        2026, 11, 2, 9, 0, tzinfo=UTC)  # Lisbon is on UTC in November
    assert week_of(datetime(2026, 11, 2, 8, 59, tzinfo=UTC), settings) == datetime(
        2026, 10, 26, 9, 0, tzinfo=UTC)
    summer = DigestConfig(day="fri", hour=18, timezone="Europe/Berlin")
    assert week_of(datetime(2026, 7, 20, tzinfo=UTC), summer) == datetime(
        2026, 7, 17, 16, 0, tzinfo=UTC)


async def test_off_by_default(sqlite_url: str) -> None:
    config = make_config(sqlite_url, roles={"organizers": ["memory:olga"]})
    assert not config.settings_of(DigestConfig).enabled
    async with Harness(config, clock=FakeClock(MONDAY_7)) as bot:
        await bot.say("olga", "!help")
        bot.clock.advance(hours=2)
        assert await digests(bot.running.store, bot.clock(), config) == []
        await bot.tick()
        assert digests_to(bot, "olga") == []


async def test_mentors_and_organizers_get_their_digest_once_a_week(db_url: str) -> None:
    async with Harness(digest_config(db_url), clock=FakeClock(MONDAY_7)) as bot:
        await bot.say("root", "!mentor add lingo memory:mia")
        await bot.say("mia", "!mentees")  # a mentor who talked to the bot: a reader
        await bot.say("olga", "!help")  # an organizer
        await bot.script("ada", LINGO)
        await bot.say("ada", "!stuck the build fails")
        await bot.script("bea", LINGO)
        code = re.search(r"case ([A-Z0-9]{5})", await bot.say("bea", "!stuck tests hang"))
        assert code is not None
        claims = [await bot.say("mia", f"!claim {code.group(1)}")]
        assert "is yours" in claims[0], claims
        await bot.tick()  # before 9:00: last week's digest is a week late, not sent
        assert digests_to(bot, "mia") == []

        bot.clock.advance(hours=2)
        await bot.tick()
        (mentor,) = digests_to(bot, "mia")
        assert "As a mentor of Lingo" in mentor
        assert re.search(r"Your open cases \(1\):\n  [A-Z0-9]{5}: memory:bea, ", mentor), mentor
        assert "New mentees this week (1)" in mentor
        assert re.search(r"Stuck newcomers waiting for a mentor \(1\):\n  [A-Z0-9]{5}: "
                         r"memory:ada", mentor), mentor
        assert "As an organizer" not in mentor
        (organizer,) = digests_to(bot, "olga")
        assert "The funnel this week: 2 started, 2 chose a project" in organizer
        assert "Events in the next 14 days" in organizer or "No events" in organizer
        assert "Dead letters: none." in organizer
        assert digests_to(bot, "ada") == []  # newcomers get none

        await bot.tick()
        await bot.restart()
        await bot.tick()
        assert len(digests_to(bot, "mia")) == 1  # once a week, also across restarts
        bot.clock.advance(days=7)
        await bot.tick()
        assert len(digests_to(bot, "mia")) == 2
        assert len(digests_to(bot, "olga")) == 2


def test_a_readers_roles_follow_the_grants_their_directory_learns() -> None:
    """The digest's projection keeps the roles it found for an identity only while the
    directory's roles stay as they are: a grant learned, or reloaded content, is asked
    again."""
    from types import SimpleNamespace
    from typing import Any, cast

    from bot.config import RolesConfig
    from bot.feature import role_grants
    from bot.model import ExternalId, Network, PersonId
    from bot.roles import Directory
    from bot.wiring import FEATURES, load_content
    from flows.digest.records import Reader
    from flows.digest.weekly import reader
    from flows.mentoring.records import AddMentor, RemoveMentor
    from tests.harness import CONTENT

    content = load_content(CONTENT)
    directory = Directory(RolesConfig(organizers=("irc:olga",)), content, role_grants(FEATURES))
    ana = Identity(Network("irc"), ExternalId("ana"), True)

    def turn(directory: Directory, projected: Reader | None = None, who: Identity = ana) -> Any:
        return cast(Any, SimpleNamespace(
            person_id=PersonId(7), inbound=SimpleNamespace(sender=who), directory=directory,
            projected={"digest": projected} if projected is not None else {}))

    asked: list[str] = []

    def probe() -> int:  # counts the times the directory works an answer out
        asked.append("")
        return len(asked)

    assert reader(turn(directory)) is None  # no role: nothing projected
    assert reader(turn(directory)) is None  # asked again: the same answer
    assert directory.remembered("probe", probe) == 1
    directory.learn([AddMentor("lingo", "irc:ana")])
    assert directory.remembered("probe", probe) == 2  # a holder changed: worked out anew
    assert reader(turn(directory)) == Reader(PersonId(7), "irc:ana", "mentor")
    directory.learn([AddMentor("lingo", "irc:ana")])  # nothing new: what it said stands
    assert directory.remembered("probe", probe) == 2
    kept = reader(turn(directory))
    directory.learn([RemoveMentor("lingo", "irc:ana")])
    assert reader(turn(directory, kept)) == Reader(PersonId(7))  # lost the role
    reloaded = directory.with_content(load_content(CONTENT))
    directory.learn([AddMentor("lingo", "irc:ana")])  # into the grants the two share
    assert reader(turn(reloaded)) == Reader(PersonId(7), "irc:ana", "mentor")
    olga = Identity(Network("irc"), ExternalId("olga"), True)
    assert reader(turn(reloaded, who=olga)) == Reader(PersonId(7), "irc:olga", "organizer")
    unverified = Identity(Network("irc"), ExternalId("olga"), False)
    assert reader(turn(reloaded, who=unverified)) is None
