"""Mentoring over several networks at once, with a fake clock driving the scans."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from adapters.memory import MemoryAdapter
from bot.model import Capabilities, Choice, Identity, Network
from bot.ports import UnitOfWork
from flows.mentoring.cases import choose_mentor
from flows.mentoring.content import MentorProfile
from flows.mentoring.officehours import parse_hours
from flows.mentoring.records import AddMentor, MentorState
from flows.mentoring.roster import Mentor
from tests.harness import FakeClock, Harness, make_config

NETWORKS = ("irc", "matrix", "telegram")
ROLES = {"organizers": ["irc:olga"], "admins": ["matrix:@root:lumen.test"]}
AMARA = "@amara:lumen.test"  # Pagebot mentor, prefers Matrix, Mon-Fri 09-18 Berlin
MONDAY_10_BERLIN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def mentoring_bot(db_url: str, clock: FakeClock | None = None, **mentoring: str) -> Harness:
    config = make_config(db_url, roles=ROLES, mentoring=mentoring or {})
    return Harness(config, networks=NETWORKS, clock=clock or FakeClock(MONDAY_10_BERLIN))


async def _to_pagebot_step_2(bot: Harness, who: str, network: str = "irc") -> None:
    await bot.script(who, ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"], network)


def _code(text: str) -> str:
    found = re.search(r"case ([A-Z0-9]{5})", text)
    assert found is not None, text
    return found.group(1)


def _sent_to(bot: Harness, network: str, external_id: str) -> list[str]:
    return [s.text for s in bot.adapters[network].sent
            if getattr(s.msg.to, "external_id", None) == external_id]


async def test_stuck_on_irc_reaches_a_matrix_mentor_who_claims_and_resolves(
        sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        await _to_pagebot_step_2(bot, "ana")
        reply = await bot.say("ana", "!stuck git clone says permission denied", "irc")
        assert "I've asked Amara (a Pagebot mentor) to help you" in reply
        code = _code(reply)
        pings = _sent_to(bot, "matrix", AMARA)
        assert len(pings) == 1
        ping = pings[0]
        assert ping == (f"ana needs help with Pagebot (case {code}).\n"
                        "Stuck on: step 2 of 6 of the workshop, \"Get the code\"\n"
                        "Since: asked just now\n"
                        "Their words: \"git clone says permission denied\"\n"
                        "To answer: claim it; I'll tell ana you're on it and how to reach you, "
                        "or write to them directly: ana on irc.\n"
                        f"\n  Claim case {code}: !claim {code}")
        (claim,) = [s.msg.choices for s in bot.adapters["matrix"].sent
                    if getattr(s.msg.to, "external_id", None) == AMARA]
        assert claim == (Choice(f"!claim {code}", f"Claim case {code}"),)  # a button, or typed

        irc_before = len(bot.adapters["irc"].sent)
        reply = await bot.say(AMARA, "!claim", "matrix")
        assert f"Case {code} is yours: ana, stuck on step 2 of 6 of the workshop" in reply
        assert "you can write to them as ana on irc" in reply
        told = [s.text for s in bot.adapters["irc"].sent[irc_before:]]
        assert told == [f"Good news: Amara will help you with case {code}. You can reach them "
                        "as @amara:lumen.test on matrix, amara on irc."]

        assert f"{code}: ana, stuck on step 2" in await bot.say(AMARA, "!mentees", "matrix")
        irc_before = len(bot.adapters["irc"].sent)
        reply = await bot.say(AMARA, f"!resolve {code} use the https URL", "matrix")
        assert reply == f"Case {code} resolved. Thank you!"
        told = [s.text for s in bot.adapters["irc"].sent[irc_before:]]
        assert len(told) == 1
        assert "marked your question" in told[0]
        assert "use the https URL" in told[0]
        assert "no open cases" in await bot.say(AMARA, "!mentees", "matrix")
        case = await bot.running.store.case(code)
        assert case is not None
        assert (case.status, case.claimed_by) == ("resolved", "matrix:@amara:lumen.test")


async def test_help_me_is_stuck_and_one_request_at_a_time(sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        reply = await bot.say("bo", "!stuck", "irc")
        assert "Tell me which project" in reply
        await _to_pagebot_step_2(bot, "bo")
        first = await bot.say("bo", "!help me, which branch?", "irc")
        assert "I've asked Amara" in first
        again = await bot.say("bo", "!stuck", "irc")
        assert f"You already asked for help (case {_code(first)})" in again


async def test_an_unverified_identity_with_a_mentors_name_cannot_claim(sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        await _to_pagebot_step_2(bot, "cy")
        code = _code(await bot.say("cy", "!stuck", "irc"))
        reply = await bot.say("amara", f"!claim {code}", "irc", verified=False)
        assert "!claim is for mentors only" in reply
        assert "isn't verified" in reply
        reply = await bot.say("someone", f"!claim {code}", "irc")  # verified, not a mentor
        assert reply == "Sorry, !claim is for mentors only."
        case = await bot.running.store.case(code)
        assert case is not None
        assert case.status == "open"
        reply = await bot.say("amara", f"!claim {code}", "irc")  # Amara's verified IRC account
        assert f"Case {code} is yours" in reply


async def test_escalation_chain_ends_at_the_organizers(sqlite_url: str) -> None:
    # Tuesday 15:00 in Berlin and Warsaw: Amara is on duty; Tomasz starts at 17:00.
    clock = FakeClock(datetime(2026, 11, 3, 14, 0, tzinfo=UTC))
    async with mentoring_bot(sqlite_url, clock, escalate_after="2h") as bot:
        await _to_pagebot_step_2(bot, "dee")
        reply = await bot.say("dee", "!stuck tests fail", "irc")
        assert "I've asked Amara" in reply
        code = _code(reply)
        engine = bot.running.engine

        async def scan_and_tell() -> str:
            irc_before = len(bot.adapters["irc"].sent)
            await engine.scan_due()
            await bot.running.dispatcher.drain(5)
            return "\n".join(s.text for s in bot.adapters["irc"].sent[irc_before:]
                             if getattr(s.msg.to, "id", "") == "dm:dee")

        clock.advance(hours=1)
        assert await scan_and_tell() == ""  # not due yet
        clock.advance(hours=1, minutes=1)
        told = await scan_and_tell()
        assert "taking longer than usual" in told
        assert "I've now asked Tomasz (a Pagebot mentor)" in told  # on duty since 17:00
        assert any(code in t for t in _sent_to(bot, "irc", "tomasz"))
        clock.advance(hours=2, minutes=1)  # Amara's office hours ended at 18:00 Berlin
        told = await scan_and_tell()
        assert "I've now asked the Pagebot mentors' channel" in told
        channel = [s.text for s in bot.adapters["irc"].sent
                   if getattr(s.msg.to, "id", "") == "#pagebot-mentors"]
        assert len(channel) == 1
        assert code in channel[0]
        clock.advance(hours=2, minutes=1)
        told = await scan_and_tell()
        assert "I've now asked the program's organizers" in told
        assert any(code in t for t in _sent_to(bot, "irc", "olga"))
        clock.advance(days=1)
        assert await scan_and_tell() == ""  # the end of the chain: nothing more
        case = await bot.running.store.case(code)
        assert case is not None
        assert case.level == 3
        assert case.escalate_at is None


async def test_pings_reach_mentors_and_organizers_in_their_own_language(sqlite_url: str) -> None:
    """A mentor or organizer who chose a language is pinged in it (their stored state says
    which); one who never wrote to the bot, and the mentors' channel, read the default."""
    clock = FakeClock(datetime(2026, 11, 3, 14, 0, tzinfo=UTC))  # Amara on duty, not Tomasz
    async with mentoring_bot(sqlite_url, clock, escalate_after="2h") as bot:
        await bot.say(AMARA, "!language es", "matrix")
        await bot.say("olga", "!language pt_BR", "irc")
        await _to_pagebot_step_2(bot, "dee")
        code = _code(await bot.say("dee", "!stuck tests fail", "irc"))
        [ping] = _sent_to(bot, "matrix", AMARA)[-1:]
        assert ping.startswith(f"dee necesita ayuda con Pagebot (caso {code}).\n"), ping
        assert f"Tomar el caso {code}: !claim {code}" in ping
        engine = bot.running.engine
        clock.advance(hours=2, minutes=1)
        await engine.scan_due()
        [tomasz] = _sent_to(bot, "irc", "tomasz")  # never wrote: the default
        assert tomasz.startswith(f"Still waiting: dee needs help with Pagebot (case {code}).")
        clock.advance(hours=2, minutes=1)
        await engine.scan_due()
        [channel] = [s.text for s in bot.adapters["irc"].sent
                     if getattr(s.msg.to, "id", "") == "#pagebot-mentors"]
        assert channel.startswith("Still waiting: dee needs help with Pagebot")
        clock.advance(hours=2, minutes=1)
        await engine.scan_due()
        olga = _sent_to(bot, "irc", "olga")[-1]
        assert olga.startswith("Ninguém pegou isto ainda. Ainda esperando: dee precisa de ajuda "
                               f"com Pagebot (caso {code})."), olga


async def test_inactivity_is_offered_help_exactly_once_also_across_restart(
        sqlite_url: str) -> None:
    clock = FakeClock(MONDAY_10_BERLIN)
    bot = mentoring_bot(sqlite_url, clock, stuck_after="48h")
    await bot.start()
    try:
        await _to_pagebot_step_2(bot, "eli")  # on step 2 (no override: 48h)
        await _to_pagebot_step_2(bot, "fay")
        await bot.say("fay", "!pause", "irc")  # paused people are left alone
        await bot.script("gus", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done", "main",
                                 "1", "pytest", "!skip",
                                 "https://code.lumen.test/pagebot/pagebot/-/merge_requests/1",
                                 "!done"], "irc")  # finished the workshop and the task
        clock.advance(hours=47)
        assert await bot.running.engine.scan_due() == 0
        await bot.restart()
        clock.advance(hours=2)
        irc = bot.adapters["irc"]
        before = len(irc.sent)
        assert await bot.running.engine.scan_due() == 1
        await bot.running.dispatcher.drain(5)
        offers = [s for s in irc.sent[before:] if "Stuck? Type !stuck" in s.text]
        assert [s.msg.to.id for s in offers] == ["dm:eli"]  # type: ignore[union-attr]
        assert "Get the code" in offers[0].text
        await bot.restart()
        clock.advance(days=3)
        assert await bot.running.engine.scan_due() == 0  # once per stuck step
        await bot.say("eli", "!pause", "irc")
        await bot.say("eli", "!resume", "irc")  # the same step again: still only once
        clock.advance(days=3)
        assert await bot.running.engine.scan_due() == 0
        await bot.say("eli", "main", "irc")  # progress: the next step may be offered again
        clock.advance(days=3)
        assert await bot.running.engine.scan_due() == 1
    finally:
        await bot.stop()


async def test_away_back_and_the_organizer_overview(sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        reply = await bot.say(AMARA, "!away 3d", "matrix")
        assert "no help requests for 3 days" in reply
        await _to_pagebot_step_2(bot, "hal")
        reply = await bot.say("hal", "!stuck", "irc")
        assert "Amara" not in reply  # away; Tomasz is off duty: the channel
        assert "mentors' channel" in reply
        overview = await bot.say("olga", "!mentors", "irc")
        assert "Amara: 0/3, away for 3 days" in overview
        assert "Tomasz: 0/2, outside office hours" in overview
        refused = await bot.say("hal", "!mentors", "irc")
        assert refused == "Sorry, !mentors is for organizers only."
        assert "Welcome back" in await bot.say(AMARA, "!available", "matrix")
        assert "Amara: 0/3, available" in await bot.say("olga", "!mentors", "irc")
        await bot.say(AMARA, "!away 1d", "matrix")
        assert "Welcome back" in await bot.say(AMARA, "!away off", "matrix")


async def test_the_mentors_side_answers_in_their_language(sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        await bot.say(AMARA, "!language es", "matrix")
        # Why a duration or office hours are refused, in their language too.
        assert await bot.say(AMARA, "!away 3x", "matrix") == (
            "'3x' no es una duración; escríbela como 30m, 48h o 7d. Por ejemplo: !away 3d (y "
            "!away off cuando vuelvas).")
        assert (await bot.say(AMARA, "!away 3000000d", "matrix")).startswith(
            "'3000000d' es demasiado largo; como máximo 366 días. Por ejemplo: !away 3d")
        assert await bot.say(AMARA, "!hours Mon-Fry 18:00-20:00 Europe/Lisbon", "matrix") == (
            "No pude entender eso: día desconocido en mon-fry; usa mon..sun (lunes a domingo, "
            "en inglés). Por ejemplo: !hours Mon-Fri 18:00-20:00 Europe/Lisbon, o varios: "
            "!hours mon-fri 18:00-20:00, sat 10:00-12:00 Europe/Lisbon.")
        assert (await bot.say(AMARA, "!hours Mon-Fri 18:00-20:00 Mars/Olympus", "matrix")
                ).startswith("No pude entender eso: zona horaria desconocida 'Mars/Olympus'; "
                             "usa un nombre como Europe/Berlin. Por ejemplo:")
        assert (await bot.say(AMARA, "!hours Mon-Fri 20:00-18:00", "matrix")).startswith(
            "No pude entender eso: 'mon-fri 20:00-18:00': el final debe ser posterior al "
            "inicio, dentro del mismo día.")
        assert (await bot.say(AMARA, "!hours weekdays", "matrix")).startswith(
            "No pude entender eso: 'weekdays' no tiene la forma \"mon-fri 09:00-17:00\".")
        assert await bot.say(AMARA, "!away 3d", "matrix") == (
            "Disfruta el descanso: no recibirás pedidos de ayuda durante 3 días. !away off lo "
            "termina antes.")
        await bot.say("olga", "!language pt_BR", "irc")
        overview = await bot.say("olga", "!mentors", "irc")
        assert overview.startswith("Carga dos mentores (casos abertos / capacidade):")
        assert "Amara: 0/3, ausente por 3 dias" in overview
        assert "Tomasz: 0/2, fora do horário" in overview
        assert "¡Qué bueno que volviste!" in await bot.say(AMARA, "!away off", "matrix")
        await bot.say("@root:lumen.test", "!language es", "matrix")
        assert (await bot.say("@root:lumen.test", "!mentor add", "matrix")).startswith(
            "Uso: !mentor add PROYECTO red:id")


async def test_away_for_longer_than_the_calendar_is_refused_politely(sqlite_url: str) -> None:
    """Regression: `!away 3000000d` overflowed the date and answered "something went wrong"."""
    async with mentoring_bot(sqlite_url) as bot:
        for huge in ("3000000d", "99999999999999999999d"):
            reply = await bot.say(AMARA, f"!away {huge}", "matrix")
            assert f"'{huge}' is too long; at most 366 days" in reply
            assert "For example: !away 3d" in reply
        assert "Amara: 0/3, available" in await bot.say("olga", "!mentors", "irc")


async def test_back_means_one_thing_the_previous_step(sqlite_url: str) -> None:
    """Regression: !back meant both "previous step" and "mentor is back from away"."""
    async with mentoring_bot(sqlite_url) as bot:
        await bot.say(AMARA, "!away 3d", "matrix")
        reply = await bot.say(AMARA, "!back", "matrix")
        assert reply == "There's no step to go back to here. !status shows where you are."
        assert "away for 3 days" in await bot.say("olga", "!mentors", "irc")


async def test_admin_adds_a_mentor_in_chat(sqlite_url: str) -> None:
    async with mentoring_bot(sqlite_url) as bot:
        assert "for admins only" in await bot.say("olga", "!mentor add lingo irc:kim", "irc")
        reply = await bot.say("@root:lumen.test", "!mentor add lingo irc:kim", "matrix")
        assert reply.startswith("irc:kim now mentors Lingo.")
        assert "For mentors:" in await bot.say("kim", "!help", "irc")
        await bot.restart()  # kept in the database
        assert "no open cases" in await bot.say("kim", "!mentees", "irc")


async def test_mentor_add_refuses_a_bad_identity_in_the_admins_language(sqlite_url: str) -> None:
    """Regression: `!mentor add`'s identity check was quoted in English in any language."""
    async with mentoring_bot(sqlite_url) as bot:
        await bot.say("@root:lumen.test", "!language es", "matrix")
        reply = await bot.say("@root:lumen.test", "!mentor add lingo IRC:Kim", "matrix")
        assert reply.startswith("'IRC:Kim' no es \"red:id\"")
        assert "is not" not in reply
        assert "Uso: !mentor add PROYECTO red:id" in reply


async def test_handback_routes_to_another_mentor(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 3, 16, 0, tzinfo=UTC))  # both Pagebot mentors on duty
    async with mentoring_bot(sqlite_url, clock) as bot:
        await _to_pagebot_step_2(bot, "ivy")
        reply = await bot.say("ivy", "!stuck", "irc")
        code = _code(reply)
        first, network = (("tomasz", "irc") if "Tomasz" in reply else (AMARA, "matrix"))
        other = "Amara" if first == "tomasz" else "Tomasz"
        assert "is yours" in await bot.say(first, f"!claim {code}", network)
        reply = await bot.say(first, f"!handback {code}", network)
        assert f"Handed back case {code}; I've asked {other}" in reply


# -- choosing a mentor: a table of cases -------------------------------------------------------
def _mentor(key: str, hours: str = "always", tz: str = "UTC", capacity: int = 2) -> Mentor:
    profile = MentorProfile(identities=(key,), hours=hours, timezone=tz, capacity=capacity)
    return Mentor(profile, parse_hours(hours, tz))


NOON = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
EARLIER = MentorState(None, NOON - timedelta(hours=5))
LATER = MentorState(None, NOON - timedelta(hours=1))
AWAY = MentorState(NOON + timedelta(days=1), None)
WAS_AWAY = MentorState(NOON - timedelta(minutes=1), None)


@pytest.mark.parametrize(("mentors", "loads", "states", "exclude", "expected"), [
    ([_mentor("irc:a"), _mentor("irc:b")], {"irc:a": 1}, {}, (), "irc:b"),  # fewest mentees
    ([_mentor("irc:a"), _mentor("irc:b")], {}, {"irc:a": LATER, "irc:b": EARLIER}, (),
     "irc:b"),  # round robin: least recently asked
    ([_mentor("irc:a"), _mentor("irc:b")], {}, {"irc:a": EARLIER}, (), "irc:b"),  # never asked
    ([_mentor("irc:a"), _mentor("irc:b")], {}, {"irc:b": AWAY}, (), "irc:a"),
    ([_mentor("irc:a")], {}, {"irc:a": WAS_AWAY}, (), "irc:a"),  # away has ended
    ([_mentor("irc:a", capacity=1), _mentor("irc:b", capacity=5)], {"irc:a": 1, "irc:b": 4},
     {}, (), "irc:b"),  # capacity
    ([_mentor("irc:a", capacity=1)], {"irc:a": 1}, {}, (), None),
    ([_mentor("irc:a", "mon-fri 09:00-17:00", "Asia/Kolkata"), _mentor("irc:b")], {"irc:b": 1},
     {}, (), "irc:b"),  # 17:30 in Kolkata: after hours
    ([_mentor("irc:a", "mon-fri 09:00-17:00", "America/Sao_Paulo")], {}, {}, (), "irc:a"),
    ([_mentor("irc:a", "sat-sun 10:00-18:00")], {}, {}, (), None),  # weekends only
    ([_mentor("irc:a"), _mentor("irc:b")], {}, {}, ("irc:a",), "irc:b"),  # tried already
    ([_mentor("irc:a"), _mentor("irc:b")], {}, {}, (), "irc:a"),  # all equal: stable order
])
def test_choose_mentor(mentors: list[Mentor], loads: dict[str, int],
                       states: dict[str, MentorState], exclude: tuple[str, ...],
                       expected: str | None) -> None:
    chosen = choose_mentor(mentors, NOON, loads, states, exclude)
    assert (chosen.key if chosen else None) == expected


def test_the_mentor_role_comes_from_the_mentoring_features_roster() -> None:
    from bot.config import RolesConfig
    from bot.feature import role_grants
    from bot.model import ExternalId, Identity, Network
    from bot.roles import Directory
    from bot.wiring import FEATURES, load_content
    from tests.harness import CONTENT

    content = load_content(CONTENT)
    directory = Directory(RolesConfig(), content, role_grants(FEATURES))
    nadia = Identity(Network("irc"), ExternalId("nadia"), True)
    ana = Identity(Network("irc"), ExternalId("ana"), True)
    assert directory.holds("mentor", nadia)
    assert not directory.holds("mentor", Identity(Network("irc"), ExternalId("nadia"), False))
    assert not directory.holds("mentor", ana)
    assert not directory.holds("translator", nadia)  # no feature grants it: nobody holds it
    directory.learn([AddMentor("lingo", "irc:ana")])  # !mentor add, committed
    assert directory.holds("mentor", ana)
    reloaded = directory.with_content(load_content(CONTENT))
    assert reloaded.holds("mentor", ana)
    assert reloaded.content is not content
    assert not Directory(RolesConfig(), content).holds("mentor", nadia)  # no builders given


def test_office_hours_count_only_open_time() -> None:
    hours = parse_hours("mon-fri 09:00-17:00", "Europe/Berlin")
    friday_4pm = datetime(2026, 11, 6, 15, 0, tzinfo=UTC)
    assert hours.add_open_time(friday_4pm, timedelta(hours=2)) == datetime(
        2026, 11, 9, 9, 0, tzinfo=UTC)  # one hour Friday, one on Monday morning
    assert parse_hours("always").add_open_time(friday_4pm, timedelta(hours=2)) == (
        friday_4pm + timedelta(hours=2))
    with pytest.raises(ValueError, match="time zone"):
        parse_hours("09:00-17:00", "Mars/Olympus")
    with pytest.raises(ValueError, match="mon-fri"):
        parse_hours("9 to 5")


# -- simultaneous claims -------------------------------------------------------------------------
@pytest.mark.slow(seconds=60)
async def test_a_thousand_trials_of_simultaneous_claims_have_one_winner_each(
        db_url: str) -> None:
    trials = 1000
    async with mentoring_bot(db_url) as bot:
        mentors = [f"m{n}" for n in range(5)]
        directory = bot.running.engine.directory
        grants = [AddMentor("lingo", f"irc:{name}") for name in mentors]
        # Stored, as `!mentor add` does: on PostgreSQL the grants are read again regularly.
        olga = await bot.running.store.person_for(bot.adapters["irc"].identity("olga"))
        await bot.running.store.commit(UnitOfWork(olga, records=list(grants)))
        directory.learn(grants)
        irc = bot.adapters["irc"]
        newcomers = [f"n{n}" for n in range(trials)]
        for line in ["!start", "!skip", "!skip", "!skip", "Lingo"]:
            await asyncio.gather(*(irc.deliver(bot.inbound(n, line, "irc")) for n in newcomers))
        await asyncio.gather(*(irc.deliver(bot.inbound(n, "!stuck", "irc")) for n in newcomers))
        await bot.running.dispatcher.drain(30)
        store = bot.running.store
        codes = []
        for name in newcomers:
            case = await store.open_case_of(await store.person_for(irc.identity(name)))
            assert case is not None
            codes.append(case.code)
        claims = [bot.inbound(m, f"!claim {code}", "irc")
                  for trial, code in enumerate(codes)
                  for m in mentors[: 2 + trial % 4]]  # 2 to 5 mentors at once on each case
        before = len(irc.sent)
        group = 5 * 14  # about twenty trials in flight at a time, their claims interleaved
        for start in range(0, len(claims), group):
            await asyncio.gather(*(irc.deliver(e) for e in claims[start:start + group]))
        await bot.running.dispatcher.drain(30)
        replies = [s.text for s in irc.sent[before:]
                   if getattr(s.msg.to, "id", "").startswith("dm:m")]
        for trial, code in enumerate(codes):
            winners = [r for r in replies if f"Case {code} is yours" in r]
            losers = [r for r in replies if f"already took case {code}" in r]
            assert len(winners) == 1, (trial, winners)
            assert len(losers) == 1 + trial % 4, (trial, losers)
            case = await store.case(code)
            assert case is not None
            assert case.status == "claimed"


def test_case_codes_never_read_as_words() -> None:
    from bot import codes
    from flows.mentoring.codes import case_code, looks_like_case_code

    drawn = {case_code() for _ in range(200)}
    assert all(len(c) == 5 and any(ch.isdigit() for ch in c) for c in drawn)
    assert all(looks_like_case_code(c) for c in drawn)
    assert not looks_like_case_code("GREAT")
    assert not looks_like_case_code("AB1")
    assert not hasattr(codes, "case_code")  # mentoring's, not the core's


async def test_a_mentor_who_is_not_online_is_passed_over_and_the_newcomer_told_the_truth(
        sqlite_url: str) -> None:
    """The networks say who is online (Capabilities.presence; IRC asks MONITOR/WHOX or
    ISON): an offline mentor is passed over for one who is online, on another of their own
    networks if need be; when none is, the newcomer is told the mentor will get it when back."""
    away: set[str] = set()

    async def presence(identity: Identity) -> bool | None:
        return identity.external_id not in away

    adapters = [MemoryAdapter(Network(n), Capabilities(presence=presence)) for n in NETWORKS]
    monday_1730_berlin = datetime(2026, 11, 2, 16, 30, tzinfo=UTC)  # Amara and Tomasz help
    async with Harness(make_config(sqlite_url, roles=ROLES), adapters=adapters,
                       clock=FakeClock(monday_1730_berlin)) as bot:
        away |= {AMARA, "amara"}  # Amara would be first (fewest cases, then by name)
        await _to_pagebot_step_2(bot, "ana")
        reply = await bot.say("ana", "!stuck git clone fails", "irc")
        assert "I've asked Tomasz (a Pagebot mentor) to help you" in reply
        assert "not online" not in reply
        assert len(_sent_to(bot, "irc", "tomasz")) == 1

        away -= {"amara"}  # on IRC, not on Matrix (her preferred network): pinged on IRC
        await _to_pagebot_step_2(bot, "bo")
        reply = await bot.say("bo", "!stuck tests fail", "irc")
        assert "I've asked Amara (a Pagebot mentor) to help you" in reply
        assert "not online" not in reply
        assert len(_sent_to(bot, "irc", "amara")) == 1
        assert _sent_to(bot, "matrix", AMARA) == []

        away |= {"amara", "tomasz"}  # nobody online: asked anyway, and said so
        await _to_pagebot_step_2(bot, "cy")
        reply = await bot.say("cy", "!stuck the build breaks", "irc")
        assert "but they're not online right now (nor is any other mentor" in reply
        assert "they'll get your question as soon as they're back" in reply
