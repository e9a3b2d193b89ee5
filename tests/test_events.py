"""Regions, consent, events, broadcasts, RSVPs and reports, through the whole app."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config
from bot.wiring import load_content
from flows.events.content import EventsContent
from flows.events.invites import reminder_times
from flows.events.quiet import QuietHours
from tests.harness import CONTENT, FakeClock, Harness, make_config

ORGANIZER = "org"
EVENT_LINE = ("!event new meetup | Lumen meetup | 2026-12-10 18:30 | Europe/Berlin | "
              "Example Str. 5 | europe | everyone | 2")


def events_config(db_url: str, quiet: str = "") -> Config:
    return make_config(db_url, roles={"organizers": [f"memory:{ORGANIZER}"]},
                       events={"quiet_hours": quiet, "reminders": ["1d"]})


async def consent(h: Harness, who: str, region: str, network: str = "memory") -> None:
    await h.say(who, f"!region {region}", network)
    await h.say(who, "!invites on", network)


def invites_to(h: Harness, who: str, network: str = "memory") -> list[str]:
    return [s.text for s in h.adapters[network].sent
            if getattr(s.msg.to, "external_id", None) == who and
            s.text.startswith("You're invited")]


async def test_region_and_consent_are_explicit(sqlite_url: str) -> None:
    async with Harness(events_config(sqlite_url)) as h:
        listing = await h.say("ana", "!region")
        assert "Germany (de)" in listing
        assert "Europe (europe)" in listing
        assert "don't know the region" in await h.say("ana", "!region atlantis")
        asked = await h.say("ana", "!region de")
        assert "Region set to Germany" in asked
        assert "!invites on" in asked
        store = h.running.store
        from flows.events.records import Audience
        everyone = Audience(("de",))
        assert await store.audience_counts(everyone) == []  # a region is not consent
        assert "You'll get invites to events in Germany" in await h.say("ana", "!invites on")
        assert await store.audience_counts(everyone) == [("memory", "de", 1)]
        assert "no more event invites" in await h.say("ana", "!invites off")
        assert await store.audience_counts(everyone) == []
        await h.say("ana", "!invites on")
        assert "won't send you event invites" in await h.say("ana", "!stop")
        assert await store.audience_counts(everyone) == []  # left: never messaged
        await h.say("ana", "!start")
        assert await store.audience_counts(everyone) == [("memory", "de", 1)]
        assert "not a time zone" in await h.say("ana", "!timezone Mars/Olympus")
        assert "Europe/Lisbon" in await h.say("ana", "!timezone Europe/Lisbon")


async def test_a_time_zone_area_that_is_a_directory_gets_a_not_a_time_zone_reply(
        sqlite_url: str) -> None:
    """ZoneInfo("America") raises IsADirectoryError, which bot.fields.zone let through: the
    engine took the OSError for a store failure and `!timezone America` was never answered."""
    async with Harness(events_config(sqlite_url)) as h:
        await consent(h, "ana", "de")
        reply = await h.say("ana", "!timezone America")
        assert "'America' is not a time zone I know" in reply
        assert "Europe/Lisbon" in await h.say("ana", "!timezone Europe/Lisbon")


async def test_an_organizer_previews_confirms_and_follows_a_broadcast(db_url: str) -> None:
    async with Harness(events_config(db_url)) as h:
        await consent(h, "de1", "de")
        await consent(h, "pl1", "pl")  # Poland is inside Europe
        await consent(h, "ng1", "ng")  # Nigeria is not
        await h.say("shy", "!region de")  # no consent
        created = await h.say(ORGANIZER, EVENT_LINE)
        assert "Created meetup" in created
        preview = await h.say(ORGANIZER, "!broadcast meetup")
        assert "It reaches 2 people" in preview
        assert "memory, Germany: 1" in preview
        assert "memory, Poland: 1" in preview
        assert "Estimated delivery time" in preview
        assert "Reminders to those who say yes" in preview
        assert "You're invited: Lumen meetup" in preview
        assert "Nothing is sent yet" in preview
        await h.tick()
        assert not invites_to(h, "de1")  # nothing before confirming
        assert "scheduled now" in await h.say(ORGANIZER, "!broadcast confirm")
        await h.tick()
        for who in ("de1", "pl1"):
            assert len(invites_to(h, who)) == 1, who
        for who in ("ng1", "shy"):
            assert invites_to(h, who) == [], who
        invite = invites_to(h, "de1")[0]
        assert "Thu 10 Dec 2026, 18:30 (Europe/Berlin)" in invite
        assert "!rsvp meetup yes" in invite
        # A second broadcast of the same event reaches nobody twice.
        assert "It would reach nobody" in await h.say(ORGANIZER, "!broadcast meetup")
        await h.say(ORGANIZER, "!broadcast cancel")

        assert "See you there" in await h.say("de1", "!rsvp meetup yes")
        assert "you had said yes" in await h.say("de1", "!rsvp meetup no")
        assert "Which event?" in await h.say("pl1", "!rsvp yes")  # two are upcoming for them
        await h.say("pl1", "!rsvp meetup yes")
        # Regression: anyone could answer any event; its regions hold for answers too.
        assert await h.say("ng1", "!rsvp meetup yes") == (
            "\"Lumen meetup\" is for people in Europe, and your region is Nigeria. !events "
            "lists the events near you.")
        await h.say("shy", "!rsvp meetup yes")  # in Germany, not invited, but it's for everyone
        full = await h.say("de1", "!rsvp meetup yes")  # capacity 2: pl1 and shy said yes
        assert "is full" in full
        status = await h.say(ORGANIZER, "!event status meetup")
        assert "Answers: yes 2 of 2 places, maybe 1, no 0" in status
        assert "Poland: yes 1" in status
        assert "Germany: yes 1, maybe 1" in status
        assert "delivered 2, waiting 0, deferred (quiet hours) 0, failed 0, unknown 0" in status

        sent = await h.send(h.inbound(ORGANIZER, "!event export meetup"))
        export = sent[-1].msg
        assert export.file is not None
        assert export.file.name == "meetup-rsvps.csv"
        rows = list(csv.DictReader(io.StringIO(export.file.data.decode())))
        assert {r["identities"] for r in rows} == {"memory:de1", "memory:pl1", "memory:shy"}
        assert all(r["travel_grant_eligible"] == "no" for r in rows)  # nobody is that far yet


async def test_an_answer_respects_the_events_audience(sqlite_url: str) -> None:
    """Regression: a newcomer who had not started could answer yes to an event for those who
    finished a workshop (and so count toward its places and travel support)."""
    clock = FakeClock(datetime(2027, 1, 10, 9, 0, tzinfo=UTC))
    async with Harness(events_config(sqlite_url), clock=clock) as h:
        await h.say("eva", "!region de")
        assert "berlin-hack-evening" not in await h.say("eva", "!events")
        assert await h.say("eva", "!rsvp berlin-hack-evening yes") == (
            "\"Lumen hack evening in Berlin\" is for people who have finished a workshop. Keep "
            "going on your path (!status shows where you are) and you'll be invited to the "
            "next one.")
        await h.script("eva", ["!start", "!skip", "!skip", "!skip", "Handbook", "done",
                               "[Lumen](https://lumen.test)", "done",
                               "https://code.lumen.test/handbook/handbook/-/merge_requests/9"])
        assert "berlin-hack-evening" in await h.say("eva", "!events")
        assert "See you there" in await h.say("eva", "!rsvp berlin-hack-evening yes")


async def test_event_new_names_the_problem(sqlite_url: str) -> None:
    async with Harness(events_config(sqlite_url)) as h:
        bad_zone = EVENT_LINE.replace("Europe/Berlin", "Europe/Atlantis")
        assert "problem in timezone" in await h.say(ORGANIZER, bad_zone)
        assert "Unknown region 'mars'" in await h.say(ORGANIZER,
                                                      EVENT_LINE.replace("europe |", "mars |"))
        assert "problem in audience" in await h.say(ORGANIZER,
                                                    EVENT_LINE.replace("everyone", "vips"))
        assert "in the past" in await h.say(ORGANIZER, EVENT_LINE.replace("2026-12-10",
                                                                          "2020-12-10"))
        assert "Create an event with" in await h.say(ORGANIZER, "!event new just-a-name")
        assert "meetup" not in await h.say(ORGANIZER, "!event list")
        await h.say(ORGANIZER, EVENT_LINE)
        assert "already an event" in await h.say(ORGANIZER, EVENT_LINE)
        # Content events are there too.
        listing = await h.say(ORGANIZER, "!event list")
        assert "berlin-hack-evening" in listing
        assert "meetup" in listing


@pytest.mark.parametrize("command", ["!event new x | y", "!event status meetup",
                                     "!event export meetup", "!broadcast meetup",
                                     "!broadcast confirm", "!event list"])
async def test_only_verified_organizers_preview_send_or_export(sqlite_url: str,
                                                               command: str) -> None:
    async with Harness(events_config(sqlite_url)) as h:
        await h.say(ORGANIZER, EVENT_LINE)
        await consent(h, "de1", "de")
        refused = await h.say("mallory", command)
        assert "is for organizers only" in refused
        impostor = await h.say(ORGANIZER, command, verified=False)
        assert "is for organizers only" in impostor
        assert "isn't verified" in impostor
        assert "Preview" not in refused + impostor
        assert "Answers" not in refused + impostor
        assert await h.running.store.broadcasts_of("meetup") == []
        await h.tick()
        assert invites_to(h, "de1") == []


async def test_quiet_hours_defer_invites_until_morning(sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 21, 30, tzinfo=UTC))  # 22:30 in Berlin
    config = events_config(sqlite_url, quiet="22:00-08:00")
    async with Harness(config, clock=clock) as h:
        await consent(h, "de1", "de")
        await consent(h, "br1", "br")  # 18:30 in São Paulo: not quiet
        await h.say(ORGANIZER, EVENT_LINE.replace("| europe |", "| europe, americas |"))
        preview = await h.say(ORGANIZER, "!broadcast meetup")
        assert "quiet hours there: sent after 08:00 their time" in preview
        await h.say(ORGANIZER, "!broadcast confirm")
        await h.tick()
        assert len(invites_to(h, "br1")) == 1
        assert invites_to(h, "de1") == []
        assert "deferred (quiet hours) 1" in await h.say(ORGANIZER, "!event status meetup")
        clock.now = datetime(2026, 11, 3, 6, 59, tzinfo=UTC)  # 07:59 in Berlin
        await h.tick()
        assert invites_to(h, "de1") == []
        clock.advance(minutes=2)
        await h.tick()
        assert len(invites_to(h, "de1")) == 1
        assert len(invites_to(h, "br1")) == 1


def test_quiet_hours_end_at_local_wall_time_across_a_dst_change() -> None:
    quiet = QuietHours.parse("22:00-08:00")
    assert quiet is not None
    # The night Europe/Berlin falls back from CEST (+2) to CET (+1): 08:00 is 07:00 UTC.
    night = datetime(2026, 10, 24, 21, 30, tzinfo=UTC)  # 23:30 CEST
    assert quiet.until(night, "Europe/Berlin") == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    # The spring night: 08:00 CEST is 06:00 UTC.
    spring = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 CET
    assert quiet.until(spring, "Europe/Berlin") == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    assert quiet.until(datetime(2026, 10, 25, 7, 0, tzinfo=UTC), "Europe/Berlin") is None
    assert QuietHours.parse("") is None
    with pytest.raises(ValueError, match="22:00-08:00"):
        QuietHours.parse("late")


def test_a_one_day_reminder_keeps_the_wall_time_across_a_dst_change() -> None:
    content = load_content(CONTENT)
    event = content.of(EventsContent).events["berlin-hack-evening"]
    # The same event moved to the day Berlin leaves summer time: 18:00 CET is 17:00 UTC,
    # and "1 day before" is 18:00 CEST the day before (16:00 UTC), not 24 hours (17:00 UTC).
    moved = type(event)(**{**event.__dict__, "starts_at": datetime(2026, 10, 25, 17, 0,
                                                                      tzinfo=UTC),
                           "reminders": ("1d", "2h")})
    config = make_config("sqlite+aiosqlite:///unused.db")
    times = reminder_times(moved, config, datetime(2026, 10, 1, tzinfo=UTC))
    assert times == [datetime(2026, 10, 24, 16, 0, tzinfo=UTC),
                     datetime(2026, 10, 25, 15, 0, tzinfo=UTC)]
    late = reminder_times(moved, config, datetime(2026, 10, 25, 12, 0, tzinfo=UTC))
    assert late == [datetime(2026, 10, 25, 15, 0, tzinfo=UTC)]  # past reminders are skipped


async def test_a_scheduled_broadcast_and_its_reminder_fire_once_across_restarts(
        sqlite_url: str) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    h = Harness(events_config(sqlite_url), clock=clock)
    await h.start()
    try:
        await consent(h, "de1", "de")
        await consent(h, "de2", "de")
        await h.say(ORGANIZER, EVENT_LINE)
        preview = await h.say(ORGANIZER, "!broadcast meetup at 2026-12-03 10:00")
        assert "Scheduled for Thu 03 Dec 2026, 10:00 (Europe/Berlin)" in preview
        assert "scheduled for Thu 03 Dec 2026, 10:00" in await h.say(ORGANIZER,
                                                                     "!broadcast confirm")
        await h.tick()
        assert invites_to(h, "de1") == []  # not yet
        await h.restart()
        clock.now = datetime(2026, 12, 3, 9, 1, tzinfo=UTC)  # 10:01 in Berlin
        await h.tick()
        await h.tick()
        assert len(invites_to(h, "de1")) == 1
        assert len(invites_to(h, "de2")) == 1
        await h.say("de1", "!rsvp meetup yes")
        await h.say("de2", "!rsvp meetup no")
        await h.restart()
        await h.tick()
        assert len(invites_to(h, "de1")) == 1  # a restart sends nothing again
        clock.now = datetime(2026, 12, 9, 17, 31, tzinfo=UTC)  # 1 day before, 18:31 Berlin
        await h.tick()
        await h.restart()
        await h.tick()
        sent = h.adapters["memory"].sent
        reminders = [s for s in sent if s.text.startswith("Reminder: Lumen meetup")]
        assert [s.msg.to for s in reminders] == [h.adapters["memory"].identity("de1")]
        status = await h.say(ORGANIZER, "!event status meetup")
        assert "invite, done" in status
        assert "reminder, done" in status
    finally:
        await h.stop()


async def test_command_choices_render_as_commands(sqlite_url: str) -> None:
    from adapters.telegram.render import render
    async with Harness(events_config(sqlite_url)) as h:
        await consent(h, "de1", "de")
        await h.say(ORGANIZER, EVENT_LINE)
        await h.say(ORGANIZER, "!broadcast meetup")
        await h.say(ORGANIZER, "!broadcast confirm")
        await h.tick()
        sent = next(s for s in h.adapters["memory"].sent if s.text.startswith("You're invited"))
        assert "Yes: !rsvp meetup yes" in sent.text
        buttons = render(sent.msg)[-1].buttons
        assert buttons == (("Yes", "!rsvp meetup yes"), ("No", "!rsvp meetup no"),
                           ("Maybe", "!rsvp meetup maybe"))
        # Pressing one on Telegram sends the command: it works with no conversation open.
        assert "See you there" in await h.say("de1", "!rsvp meetup yes")


def test_event_files_are_checked(tmp_path: object) -> None:
    from pathlib import Path
    root = Path(str(tmp_path)) / "content"
    import shutil
    shutil.copytree(CONTENT, root)
    (root / "events" / "bad.toml").write_text(
        'title = "x"\nstarts = 2027-01-01T10:00:00\ntimezone = "Nowhere/Land"\n'
        'regions = ["mars"]\n')
    from bot.content import ContentError
    with pytest.raises(ContentError) as caught:
        load_content(root)
    text = str(caught.value)
    assert "events/bad.toml: timezone: unknown time zone 'Nowhere/Land'" in text
    assert timedelta(0) == timedelta(0)


@pytest.mark.parametrize(("data", "expected", "eligible"), [
    ({}, "everyone", "no"),
    ({"project": "handbook"}, "project", "no"),
    ({"project": "handbook", "completed_workshops": ["handbook-get-started"]}, "workshop", "no"),
    ({"project": "handbook", "completed_workshops": ["handbook-get-started"],
      "task": "handbook-glossary"}, "first-task", "no"),
    ({"project": "handbook", "completed_workshops": ["handbook-get-started"],
      "tasks_done": 3}, "involved", "yes"),
])
def test_travel_support_goes_to_those_through_the_first_four_steps(
        data: dict[str, object], expected: str, eligible: str) -> None:
    from flows.events.invites import export_csv, milestone
    from flows.path.state import PathState
    content = load_content(CONTENT)
    reached = milestone(PathState.model_validate(data), content)
    rows = list(csv.DictReader(io.StringIO(
        export_csv([(7, "yes", "de", reached, "memory:ana")]).decode())))
    assert (rows[0]["milestone"], rows[0]["travel_grant_eligible"]) == (expected, eligible)


async def test_a_spanish_newcomer_hears_about_events_in_spanish(sqlite_url: str) -> None:
    """!events and !rsvp answer in the person's language, bad input included."""
    clock = FakeClock(datetime(2027, 1, 10, 9, 0, tzinfo=UTC))
    async with Harness(events_config(sqlite_url), clock=clock) as h:
        await h.say("eva", "!language es")
        assert "Primero elige tu región con !region" in await h.say("eva", "!events")
        await h.say("eva", "!region de")
        assert await h.say("eva", "!rsvp berlin-hack-evening yes") == (
            "\"Lumen hack evening in Berlin\" es para quienes han terminado un taller. Sigue "
            "avanzando en tu camino (!status muestra dónde estás) y te invitaremos al "
            "próximo.")
        assert (await h.say("eva", "!rsvp")).startswith("Responde con !rsvp EVENTO yes")
        assert await h.say("eva", "!rsvp atlantis yes") == (
            "No conozco el evento 'atlantis'. !events muestra los próximos.")


def test_event_times_name_days_and_months_in_the_persons_language() -> None:
    from bot.i18n import translator
    from flows.events.invites import when_text

    event = load_content(CONTENT).of(EventsContent).events["berlin-hack-evening"]
    assert when_text(event, event.timezone) == "Thu 21 Jan 2027, 18:30 (Europe/Berlin)"
    assert when_text(event, event.timezone, translator("es")) == (
        "jue 21 ene 2027, 18:30 (Europe/Berlin)")
    assert when_text(event, "America/Sao_Paulo", translator("pt_BR")).endswith(
        "21 jan. 2027, 14:30 no seu horário")


async def test_a_spanish_organizer_runs_events_in_spanish(sqlite_url: str) -> None:
    """The organizers' commands answer in their language, bad input included."""
    clock = FakeClock(datetime(2027, 1, 10, 9, 0, tzinfo=UTC))
    async with Harness(events_config(sqlite_url), clock=clock) as h:
        await h.say(ORGANIZER, "!language es")
        assert await h.say(ORGANIZER, "!broadcast confirm") == (
            "No hay nada que confirmar. Primero mira la vista previa con !broadcast EVENTO.")
        assert await h.say(ORGANIZER, "!broadcast cancel atlantis") == (
            "No conozco el evento 'atlantis'.")
        assert await h.say(ORGANIZER, "!event status") == (
            "Uso: !event status EVENTO (!event list los muestra).")
        assert (await h.say(ORGANIZER, "!event list")).startswith("Eventos:\n")
        assert await h.say(ORGANIZER, "!checkin code atlantis") == (
            "Uso: !checkin code EVENTO (!event list los muestra).")


async def test_invites_and_reminders_are_in_each_recipients_language(db_url: str) -> None:
    """The broadcaster words each invite and reminder in the language the person chose (kept
    in their standing by their turns), dates included; no choice: the community's default."""
    clock = FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    async with Harness(events_config(db_url), clock=clock) as h:
        await h.say("es1", "!language es")
        await h.say("br1", "!language pt_BR")
        for who in ("es1", "br1", "en1"):
            await consent(h, who, "de")
        await h.say(ORGANIZER, EVENT_LINE.removesuffix(" | 2"))  # room for all three
        preview = await h.say(ORGANIZER, "!broadcast meetup")
        assert "Each person reads it in their own language" in preview
        await h.say(ORGANIZER, "!broadcast confirm")
        await h.tick()
        sent = {who: [s.text for s in h.adapters["memory"].sent
                      if getattr(s.msg.to, "external_id", None) == who]
                for who in ("es1", "br1", "en1")}
        [es_invite] = [t for t in sent["es1"] if t.startswith("Estás invitado")]
        assert "Cuándo: jue 10 dic 2026, 18:30 (Europe/Berlin)" in es_invite
        assert "!rsvp meetup yes" in es_invite
        [br_invite] = [t for t in sent["br1"] if t.startswith("Você está convidado")]
        assert "Quando: qui., 10 dez. 2026, 18:30 (Europe/Berlin)" in br_invite
        assert "Sim: !rsvp meetup yes" in br_invite
        assert "Sí: !rsvp meetup yes" in es_invite
        # The adapter's own words around it (a choice line's hint) follow the recipient too.
        assert {s.msg.locale for s in h.adapters["memory"].sent
                if s.text.startswith(("Estás invitado", "Você está convidado",
                                      "You're invited"))} == {"es", "pt_BR", ""}
        assert invites_to(h, "en1") == [
            "You're invited: Lumen meetup\nWhen: Thu 10 Dec 2026, 18:30 (Europe/Berlin)\n"
            "Where: Example Str. 5\nWill you come? Answer !rsvp meetup yes, no or maybe. "
            "(!invites off: no more invites.)\n\n  Yes: !rsvp meetup yes\n  No: !rsvp meetup "
            "no\n  Maybe: !rsvp meetup maybe"]
        for who in ("es1", "br1", "en1"):
            await h.say(who, "!rsvp meetup yes")
        # Changing one's language later changes the language of what follows.
        await h.say("br1", "!language es")
        clock.now = datetime(2026, 12, 9, 17, 31, tzinfo=UTC)  # 1 day before
        await h.tick()
        texts = {who: [s.text for s in h.adapters["memory"].sent
                       if getattr(s.msg.to, "external_id", None) == who][-1]
                 for who in ("es1", "br1", "en1")}
        assert texts["es1"].startswith("Recordatorio: Lumen meetup")
        assert texts["br1"].startswith("Recordatorio: Lumen meetup")
        assert texts["en1"].startswith("Reminder: Lumen meetup is coming up.")
