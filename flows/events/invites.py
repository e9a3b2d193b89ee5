"""Events: regions and consent, organizers' events and broadcasts, RSVPs, reports.

Newcomers choose a region (`!region`) and consent to invites (`!invites on`); organizers
create events (`!event new`, or a file in content/events), preview a broadcast
(`!broadcast EVENT`), confirm it, and follow answers and delivery (`!event status`).
A confirmed broadcast is a due time in the store: the broadcaster fans it out into the
outbox when it is due, once, also across restarts.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pydantic import ValidationError

from bot.config import Config
from bot.content import Content
from bot.durations import describe, parse_duration
from bot.feature import ProjectInputs
from bot.fields import is_zone, zone
from bot.flow import Transition, Turn, recipient_translator
from bot.i18n import ENGLISH, N_, SOURCE, Translator
from bot.model import Choice, ExternalId, FileRef, Identity, Network, Outbound, PersonId, Rate
from bot.text import one_line
from flows.events import buddies
from flows.events.broadcaster import Plan
from flows.events.content import (
    AUDIENCES,
    KIND_WORDS,
    KINDS,
    TRAVEL_GRANT_MILESTONE,
    EventFile,
    EventsContent,
)
from flows.events.reads import EventsReads, reads_of
from flows.events.records import (
    Audience,
    Broadcast,
    CancelBroadcast,
    Compose,
    CreateEvent,
    Event,
    Frame,
    Recipient,
    ScheduleBroadcast,
    SetRsvp,
    Standing,
)
from flows.events.settings import EventsConfig
from flows.events.state import EventsState, Preview
from flows.path.api import PathContent, PathState, stage

FEATURE_NAME = "events"  # the feature's name, which keys its projection (flows/events/feature.py)
ANSWERS = ("yes", "no", "maybe")
MESSAGE = "message"  # a broadcast's kind: a text to an invite list's members
DEFAULT_IRC_LIKE_RATE = Rate(1.0, 4)  # an estimate for networks without a known limit
WHEN_FORMAT = "%a %d %b %Y, %H:%M"
# The same for a person in another language (Babel's LDML), day and month names theirs.
WHEN_PATTERN = N_("EEE dd MMM yyyy, HH:mm")
_AT = re.compile(r"^(?P<event>\S+)(?:\s+at\s+(?P<when>\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}))?"
                 r"(?:\s+including\s+(?P<including>\S+))?$", re.IGNORECASE)
# `!broadcast EVENT including maybe`: who answered what is invited again ("answered": all).
INCLUDING = {"maybe": ("maybe",), "no": ("no",), "yes": ("yes",), "answered": ANSWERS}
BROADCAST_USAGE = "EVENT [at YYYY-MM-DD HH:MM] [including maybe | no | answered]"


# -- standing: what audiences select on -----------------------------------------------------
def milestone(path: PathState, content: Content) -> int:
    """How far along the growth path, in the steps audiences name (content.AUDIENCES)."""
    current = stage(path, content)
    if current >= TRAVEL_GRANT_MILESTONE:
        return AUDIENCES["involved"]
    if path.task or path.tasks_done > 0:
        return AUDIENCES["first-task"]
    if current >= 2:
        return AUDIENCES["workshop"]
    return AUDIENCES["project"] if current >= 1 else AUDIENCES["everyone"]


def standing(turn: Turn) -> Standing:
    """What audiences select on, from the state a turn leaves (Feature.project)."""
    last = turn.data.get("last_room")
    reach = str(last[0]) if isinstance(last, list) and last else ""
    # The language invites are worded in: cached by the turn, which every reply asks for.
    locale = turn.stated_locale
    before = turn.projected.get(FEATURE_NAME)
    mine, path = turn.peek(EventsState), turn.state(PathState)
    project, workshop = working_on(path, turn.content)
    # Consent, and somewhere to be invited to: a region, or a project whose meetings count.
    consent = mine.invites and not path.left and bool(mine.region or project)
    made = (turn.person_id, mine.region, mine.timezone, consent, milestone(path, turn.content),
            reach, project, workshop, locale)
    # Asked only when something it is made of changed (STANDING_INPUTS). When the fields come
    # out equal the record the turn started from is kept: building a frozen record, field by
    # field, costs more than this comparison, and the engine then skips its own (the same
    # object).
    if isinstance(before, Standing) and made == (
            before.person_id, before.region, before.timezone, before.invites, before.milestone,
            before.reach, before.project, before.workshop, before.locale):
        return before
    return Standing(*made)


# All that `standing` reads (the engine asks it only when one of them changed): keep them in
# step with it, `working_on` and `milestone` (stage).
STANDING_INPUTS = ProjectInputs(
    states=(EventsState,),
    fields={PathState: ("project", "left", "completed_workshops", "task", "tasks_done")},
    data=("last_room",), locale=True)


def working_on(path: PathState, content: Content) -> tuple[str, str]:
    """The project a person works on, and the workshop they are at or about to start ("" once
    done): who a project's meetings and a workshop's live sessions are for."""
    project = content.of(PathContent).projects.get(path.project)
    if path.left or project is None:
        return "", ""
    ahead = project.workshop if project.workshop not in path.completed_workshops else ""
    return project.id, ahead


def events_of(turn: Turn) -> EventsState:
    return turn.state(EventsState)


def person_zone(turn: Turn) -> str:
    mine = events_of(turn)
    return (mine.timezone or turn.content.of(EventsContent).region_timezone(mine.region)
            or turn.settings_of(EventsConfig).default_timezone)


# -- newcomers: region, consent, time zone, events, RSVP -----------------------------------
def _region_list(content: EventsContent, tr: Translator = ENGLISH) -> str:
    lines = []
    tops = [r for r in content.regions.values() if not r.parent]
    for top in tops:
        children = [r for r in content.regions.values() if r.parent == top.code]
        inner = ", ".join(f"{tr.local(c.name)} ({c.code})" for c in children)
        lines.append(f"  {tr.local(top.name)} ({top.code})" + (f": {inner}" if inner else ""))
    return "\n".join(lines)


async def region(turn: Turn) -> Transition:
    wanted = turn.input.args.strip().lower()
    content = turn.content.of(EventsContent)
    if not content.regions:
        turn.say(turn.t("This community has no regions set up, so there are no regional "
                        "invites."))
        return None
    mine = events_of(turn)
    current = mine.region
    if not wanted:
        now = (turn.t("Your region is {name}.", name=content.regions[current].name)
               if current in content.regions else turn.t("You haven't chosen a region."))
        turn.say(now + " " + turn.t("Organizers invite people to meetups and events by region. "
                                    "Choose yours with !region CODE (!region none to clear "
                                    "it):") + "\n" + _region_list(content, turn.translator))
        return None
    if wanted in ("none", "off", "clear"):
        mine.region = ""
        turn.say(turn.t("Region cleared: you won't get regional invites."))
        return None
    chosen = content.regions.get(wanted) or next(
        (r for r in content.regions.values() if r.name.lower() == wanted), None)
    if chosen is None:
        turn.say(turn.t("I don't know the region {region}. Type !region to see the list.",
                        region=repr(one_line(wanted, 40))))
        return None
    mine.region = chosen.code
    turn.event("region", region=chosen.code)
    if mine.invites:
        turn.say(turn.t("Region set to {name}. You'll get invites to events there (!invites "
                        "off stops them).", name=chosen.name))
    else:
        turn.say(turn.t("Region set to {name}. Would you like invites to meetups, hackathons "
                        "and conferences there? They come at most a few times a month, never "
                        "at night your time. Type !invites on to say yes (!invites off stops "
                        "them any time).", name=chosen.name))
    return None


async def invites(turn: Turn) -> Transition:
    wanted = turn.input.args.strip().lower()
    mine = events_of(turn)
    if wanted in ("on", "yes"):
        mine.invites = True
        turn.event("invites", consent=True)
        where = turn.content.of(EventsContent).regions.get(mine.region)
        turn.say(turn.t("Thanks! You'll get invites to events in {name}, and to your "
                        "project's meetings and sprints. !invites off stops them any time.",
                        name=where.name) if where else
                 turn.t("Thanks! You'll get invites to your project's meetings and sprints. "
                        "Choose your region with !region too, so I know which events are near "
                        "you."))
    elif wanted in ("off", "no", "stop"):
        mine.invites = False
        turn.event("invites", consent=False)
        turn.say(turn.t("Done: no more event invites. (!invites on if you change your mind.)"))
    else:
        turn.say(turn.t("Event invites are on for you. Type !invites on or !invites off.")
                 if mine.invites else
                 turn.t("Event invites are off for you. Type !invites on or !invites off."))
    return None


async def timezone(turn: Turn) -> Transition:
    wanted = turn.input.args.strip()
    if not wanted:
        turn.say(turn.t("I use the time zone {zone} for you (it decides when invites may "
                        "arrive). Set yours with !timezone Area/City, e.g. !timezone "
                        "Europe/Berlin; !timezone region uses your region's.",
                        zone=person_zone(turn)))
        return None
    if wanted.lower() == "region":
        events_of(turn).timezone = ""
        turn.say(turn.t("Using your region's time zone: {zone}.", zone=person_zone(turn)))
        return None
    if not is_zone(wanted):
        turn.say(turn.t("{zone} is not a time zone I know. Use a name like Europe/Berlin or "
                        "America/Sao_Paulo.", zone=repr(one_line(wanted, 40))))
        return None
    events_of(turn).timezone = wanted
    turn.say(turn.t("Time zone set to {zone}.", zone=wanted))
    return None


async def find_event(turn: Turn, event_id: str) -> Event | None:
    wanted = event_id.strip().lower()
    known = turn.content.of(EventsContent).events
    return known.get(wanted) or await reads_of(turn.reads).event(wanted)


async def event_named(turn: Turn, usage: str) -> Event | None:
    """The event a command's argument names; if none (or none by that id), `usage` (an N_
    text) is said and None returned."""
    event_id = turn.input.args.strip()
    event = await find_event(turn, event_id) if event_id else None
    if event is None:
        turn.say(turn.t(usage))
    return event


async def all_events(content: Content, reads: EventsReads) -> list[Event]:
    events = {**{e.id: e for e in await reads.events()}, **content.of(EventsContent).events}
    return sorted(events.values(), key=lambda e: e.starts_at)


def _when(at: datetime, tr: Translator) -> str:
    """`at` as events show it: strftime's for English (no Babel to load), Babel's in the
    person's language otherwise."""
    return f"{at:{WHEN_FORMAT}}" if tr.locale == SOURCE else tr.format_datetime(at, WHEN_PATTERN)


def when_text(event: Event, tz: str, tr: Translator = ENGLISH) -> str:
    there = event.starts_at.astimezone(zone(event.timezone))
    text = f"{_when(there, tr)} ({event.timezone})"
    mine = event.starts_at.astimezone(zone(tz))
    if mine.utcoffset() != there.utcoffset():
        text += ", " + tr.t("{when} your time", when=_when(mine, tr))
    return text


def _event_for_me(event: Event, turn: Turn) -> bool:
    """Whether the event is for this person: their project's or workshop's, or their
    region's."""
    if event.linked:
        project, workshop = working_on(turn.state(PathState), turn.content)
        return (event.project or event.workshop) == (project if event.project else workshop)
    region_code = events_of(turn).region
    return region_code in turn.content.of(EventsContent).region_and_children(event.regions)


def about(event: Event, content: Content, tr: Translator = ENGLISH) -> str:
    """What a linked event is, in words ("a sprint of Pagebot"); "" for the others."""
    what = tr.t(KIND_WORDS[event.kind]) if event.kind in KIND_WORDS else event.kind
    if event.project:
        project = content.of(PathContent).projects.get(event.project)
        return tr.t("a {kind} of {project}", kind=what,
                    project=project.name if project else event.project)
    if event.workshop:
        workshop = content.of(PathContent).workshops.get(event.workshop)
        return tr.t("a {kind} of \"{workshop}\"", kind=what,
                    workshop=workshop.title if workshop else event.workshop)
    return ""


def _not_for_me(turn: Turn, event: Event) -> str:
    """Why someone who was not invited may not answer EVENT ("" if they may): its regions and
    its audience hold for answers as for invites (travel support follows the answers)."""
    content = turn.content.of(EventsContent)
    mine = events_of(turn).region
    if event.linked and not _event_for_me(event, turn):
        what = about(event, turn.content, turn.translator)
        return (turn.t("\"{title}\" is {what}, for people working on that project. !events "
                       "lists the events for you.", title=event.title, what=what)
                if event.project else
                turn.t("\"{title}\" is {what}, for people at that workshop or about to start "
                       "it. !events lists the events for you.", title=event.title, what=what))
    if not _event_for_me(event, turn):
        where = ", ".join(turn.local(content.regions[r].name) if r in content.regions else r
                          for r in event.regions)
        yours = (turn.t("your region is {name}", name=content.regions[mine].name)
                 if mine in content.regions else turn.t("you haven't chosen a region (!region)"))
        return turn.t("\"{title}\" is for people in {where}, and {yours}. !events lists the "
                      "events near you.", title=event.title, where=where, yours=yours)
    if milestone(turn.state(PathState), turn.content) < AUDIENCES[event.audience]:
        return turn.t("\"{title}\" is for people who {who}. Keep going on your path (!status "
                      "shows where you are) and you'll be invited to the next one.",
                      title=event.title, who=turn.t(AUDIENCE_WORDS[event.audience]))
    return ""


AUDIENCE_WORDS = {
    "everyone": N_("want to come"),
    "project": N_("have chosen a project"),
    "workshop": N_("have finished a workshop"),
    "first-task": N_("have taken a first task"),
    "involved": N_("are past their first tasks (stage 4 of the path)"),
}


async def events_command(turn: Turn) -> Transition:
    mine = events_of(turn).region
    reached = milestone(turn.state(PathState), turn.content)
    upcoming = [e for e in await all_events(turn.content, reads_of(turn.reads))
                if e.starts_at > turn.now and _event_for_me(e, turn)
                and reached >= AUDIENCES[e.audience]]
    if not mine and not upcoming:
        turn.say(turn.t("Choose your region with !region first; then I can show events near "
                        "you."))
        return None
    if not upcoming:
        turn.say(turn.t("No upcoming events in your region right now. With !invites on you'll "
                        "hear about the next one."))
        return None
    lines = [turn.t("Upcoming events for you:")]
    for event in upcoming[:10]:
        what = about(event, turn.content, turn.translator)
        lines.append(f"  {event.id}: {turn.local(event.title)}" + (f" ({what})" if what else "")
                     + f", {when_text(event, person_zone(turn), turn.translator)}"
                     + (f", {turn.local(event.place)}" if event.place else ""))
    lines.append(turn.t("Answer with !rsvp EVENT yes, no or maybe."))
    turn.say("\n".join(lines))
    return None


REPLIES = {"yes": N_("See you there!"), "no": N_("Thanks for letting us know."),
           "maybe": N_("Noted as maybe.")}


async def rsvp(turn: Turn) -> Transition:
    words = turn.input.args.lower().split()
    # `!rsvp EVENT yes buddy`: yes, and a buddy for someone there for the first time.
    volunteer = len(words) >= 2 and words[-1] == "buddy" and words[-2] == "yes"
    if volunteer:
        words.pop()
    answer = words[-1] if words else ""
    if answer not in ANSWERS or len(words) > 2:
        turn.say(turn.t("Answer with !rsvp EVENT yes, !rsvp EVENT no or !rsvp EVENT maybe "
                        "(!events lists them); !rsvp EVENT yes buddy if you've been to one of "
                        "our events before and will look after a first-timer."))
        return None
    if len(words) == 2:
        event = await find_event(turn, words[0])
    else:
        candidates = [e for e in await all_events(turn.content, reads_of(turn.reads))
                      if e.starts_at > turn.now and _event_for_me(e, turn)]
        event = candidates[0] if len(candidates) == 1 else None
        if event is None:
            turn.say(turn.t("Which event? Answer with !rsvp EVENT {answer} (!events lists them).",
                            answer=answer))
            return None
    if event is None:
        wanted = words[0].strip().lower()
        said = await reads_of(turn.reads).rsvp_of(wanted, turn.person_id)
        if said is not None:  # its file left the content since they answered
            turn.say(turn.t("The event {event} you answered {answer} to is no longer listed: the "
                            "organizers removed or cancelled it. !events lists the upcoming "
                            "ones.", event=repr(one_line(wanted, 40)), answer=said))
            return None
        if await reads_of(turn.reads).invited_to(wanted, turn.person_id):
            # An invite this bot sent, for an event its content does not hold (yet): another
            # process broadcast it from a newer event file. The answer counts all the same.
            turn.record(SetRsvp(wanted, turn.person_id, answer, turn.now))
            turn.event("rsvp", event=wanted, answer=answer)
            turn.say(turn.t("Noted: {answer} to the invite for {event}. You can change your "
                            "answer any time.", answer=answer, event=wanted))
            return None
        turn.say(turn.t("I don't know the event {event}. !events lists the upcoming ones.",
                        event=repr(one_line(words[0], 40))))
        return None
    if event.starts_at <= turn.now:
        turn.say(turn.t("\"{title}\" has already started, so answers are closed.",
                        title=event.title))
        return None
    before = await reads_of(turn.reads).rsvp_of(event.id, turn.person_id)
    if before is None and not await reads_of(turn.reads).invited_to(event.id, turn.person_id):
        refusal = _not_for_me(turn, event)
        if refusal:
            turn.say(refusal)
            return None
    if answer == "yes" and before != "yes" and event.capacity is not None:
        yes = sum(n for _r, a, n in await reads_of(turn.reads).rsvp_counts(event.id) if a == "yes")
        if yes >= event.capacity:
            turn.say(turn.tn("Sorry, \"{title}\" is full ({n} place). I've noted you as maybe; "
                             "organizers see that if places free up.",
                             "Sorry, \"{title}\" is full ({n} places). I've noted you as "
                             "maybe; organizers see that if places free up.", event.capacity,
                             title=event.title))
            answer = "maybe"
            if before == answer:
                return None
            turn.record(SetRsvp(event.id, turn.person_id, answer, turn.now))
            return None
    turn.record(SetRsvp(event.id, turn.person_id, answer, turn.now))
    turn.event("rsvp", event=event.id, answer=answer)
    changed = (" " + turn.t("(you had said {answer})", answer=before)
               if before and before != answer else "")
    reply = turn.t(REPLIES[answer])
    extra = " " + turn.t("I'll remind you before it starts.") if answer == "yes" else ""
    extra += await buddies.after_answer(turn, event, answer, volunteer)
    turn.say(f"{reply} " + turn.t("\"{title}\": {answer}{changed}.", title=event.title,
                                  answer=answer, changed=changed)
             + f"{extra} " + turn.t("You can change your answer any time."))
    return None


# -- messages a broadcast sends ----------------------------------------------------------------
ANSWER_WORDS = {"yes": N_("Yes"), "no": N_("No"), "maybe": N_("Maybe")}


def invite_message(event: Event, recipient: Recipient, tz: str, what: str = "",
                   tr: Translator = ENGLISH) -> Outbound:
    """An invite, in `tr`'s language: the broadcaster composes it outside any turn of the
    person's, in the language their standing keeps (`composer`)."""
    lines = [tr.t("You're invited: {title}", title=event.title)]
    if what:  # a linked event: why this person
        lines.append(tr.t("It's {what}: you're invited as you're working on it.", what=what)
                     if event.project else
                     tr.t("It's {what}: you're invited as you're at that workshop.",
                          what=what))
    lines.append(tr.t("When: {when}", when=when_text(event, tz, tr)))
    if event.place:
        lines.append(tr.t("Where: {place}", place=event.place))
    lines.append(tr.t("Will you come? Answer !rsvp {event} yes, no or maybe. (!invites off: no "
                      "more invites.)", event=event.id))
    return Outbound(recipient.identity, "\n".join(lines), choices=tuple(
        Choice(f"!rsvp {event.id} {a}", tr.t(ANSWER_WORDS[a])) for a in ANSWERS),
        locale=_adapter_locale(tr))


def reminder_message(event: Event, recipient: Recipient, tz: str,
                     tr: Translator = ENGLISH) -> Outbound:
    lines = [tr.t("Reminder: {title} is coming up.", title=event.title),
             tr.t("When: {when}", when=when_text(event, tz, tr))]
    if event.place:
        lines.append(tr.t("Where: {place}", place=event.place))
    lines.append(tr.t("Can't make it after all? Answer !rsvp {event} no.", event=event.id))
    return Outbound(recipient.identity, "\n".join(lines), locale=_adapter_locale(tr))


def _adapter_locale(tr: Translator) -> str:
    """The language an adapter words its own additions to a message in (as
    Turn._outbound_locale): empty for English."""
    return "" if tr.locale == SOURCE else tr.locale


def audience_of(event: Event, kind: str, content: Content,
                including: tuple[str, ...] = ()) -> Audience:
    """Who a broadcast reaches. An invite skips those it invited before and those who
    answered, except the answers `including` names (the organizer asked for them)."""
    if kind == "reminder":  # those who said yes, wherever they are now
        return Audience((), 0, event.id, rsvp="yes")
    return Audience(content.of(EventsContent).region_and_children(event.regions),
                    AUDIENCES[event.audience], event.id, including=including,
                    project=event.project, workshop=event.workshop)


def _recipients_words(config: Config) -> Callable[[str], Translator]:
    """Each recipient's translator by the language their standing keeps, worked out once per
    language a fan-out meets (it asks for one per recipient)."""
    known: dict[str, Translator] = {}

    def words(locale: str) -> Translator:
        found = known.get(locale)
        if found is None:
            found = known[locale] = recipient_translator(locale, config.i18n)
        return found

    return words


def composer(event: Event, kind: str, content: Content, config: Config,
             now: datetime) -> Compose:
    """Each recipient's invite or reminder, in their language (their standing's, else the
    community's default), the event's time in their time zone."""
    settings = config.settings_of(EventsConfig)
    quiet = settings.quiet
    words = _recipients_words(config)
    # One wording per language and time zone: what differs between recipients is who.
    made: dict[tuple[str, str], Outbound] = {}

    def compose(recipient: Recipient) -> tuple[Outbound, datetime | None, str]:
        tz = (recipient.timezone or content.of(EventsContent).region_timezone(recipient.region)
              or settings.default_timezone)
        tr = words(recipient.locale)
        known = made.get((tr.locale, tz))
        if known is None:
            known = made[(tr.locale, tz)] = (
                reminder_message(event, recipient, tz, tr) if kind == "reminder" else
                invite_message(event, recipient, tz, about(event, content, tr), tr))
            message = known
        else:
            message = Outbound(recipient.identity, known.text, known.choices,
                               locale=known.locale)
        return (message, quiet.until(now, tz) if quiet else None, tz)

    return compose


def framed(text: str, frame: Frame | None, tr: Translator) -> str:
    """A list message's text between its frame's lines, those in `tr`'s language."""
    if frame is None:
        return text
    values = dict(frame.values)
    return "\n".join([*([tr.t(frame.before, **values)] if frame.before else []), text,
                      *([tr.t(frame.after, **values)] if frame.after else [])])


def message_composer(text: str, content: Content, config: Config, now: datetime,
                     frame: Frame | None = None) -> Compose:
    """A list's message (kind MESSAGE): the same text to every member, its frame in their
    language, in their quiet hours' terms like an invite."""
    settings = config.settings_of(EventsConfig)
    quiet = settings.quiet
    words = _recipients_words(config)
    texts: dict[str, str] = {}

    def compose(recipient: Recipient) -> tuple[Outbound, datetime | None, str]:
        tz = (recipient.timezone or content.of(EventsContent).region_timezone(recipient.region)
              or settings.default_timezone)
        tr = words(recipient.locale)
        body = texts.get(tr.locale)
        if body is None:
            body = texts[tr.locale] = framed(text, frame, tr)
        return (Outbound(recipient.identity, body, locale=_adapter_locale(tr)),
                quiet.until(now, tz) if quiet else None, tz)

    return compose


def message_broadcast(list_key: str, text: str, by: str, now: datetime,
                      frame: Frame | None = None) -> ScheduleBroadcast:
    """Send `text` now to the members of an invite list (JoinInviteList), through the
    broadcaster: fanned out in batches, in quiet hours' terms, once per member; `frame`'s
    lines around it in each member's language."""
    return ScheduleBroadcast(list_key, MESSAGE, now, by, now, message=text, frame=frame)


def reminder_times(event: Event, config: Config, now: datetime) -> list[datetime]:
    """When reminders go out: whole days count on the event's calendar, so "1d" before
    18:00 is 18:00 the day before even across a DST change; past times are skipped."""
    times = []
    for text in event.reminders or config.settings_of(EventsConfig).reminders:
        before = parse_duration(text)
        local = event.starts_at.astimezone(zone(event.timezone))
        days, rest = divmod(before, timedelta(days=1))
        wall = local.replace(tzinfo=None) - timedelta(days=days)
        at = wall.replace(tzinfo=zone(event.timezone)) - rest
        if at > now:
            times.append(at)
    return sorted(times)


# -- organizers ---------------------------------------------------------------------------------
def event_new_usage(tr: Translator = ENGLISH) -> str:
    """How to write `!event new`, with examples (in `tr`'s language)."""
    return tr.t("!event new ID | TITLE | YYYY-MM-DD HH:MM | TIMEZONE | PLACE | REGIONS | "
                "AUDIENCE [| CAPACITY [| KIND]]\nfor example: !event new berlin-meetup | "
                "Berlin meetup | 2027-03-04 18:30 | Europe/Berlin | c-base | de | workshop | "
                "30\nor a project's sprint: !event new pagebot-sprint | Pagebot sprint | "
                "2027-03-06 15:00 | UTC | https://meet.example.org/pb | - | project:pagebot "
                "| | sprint\nAudiences: {audiences}, project:ID (its people, wherever they "
                "are), workshop:ID (a live session: people at that workshop or about to "
                "start it). Regions: codes, comma-separated (- for none). Kinds: {kinds}.",
                audiences=", ".join(AUDIENCES), kinds=", ".join(KINDS))


async def event_list(turn: Turn) -> Transition:
    """`!event` or `!event list`."""
    events = await all_events(turn.content, reads_of(turn.reads))
    if not events:
        turn.say(turn.t("No events yet. Create one with:") + "\n"
                 + event_new_usage(turn.translator))
        return None
    lines = [turn.t("Events:")]
    for event in events:
        where = (turn.t("{kind} of {target}", kind=event.kind,
                        target=event.project or event.workshop) if event.linked else
                 turn.t("regions {regions}", regions=", ".join(event.regions)))
        values = {"id": event.id, "title": event.title, "where": where,
                  "when": when_text(event, event.timezone, turn.translator),
                  "audience": event.audience}
        lines.append("  " + (turn.t("{id}: {title}, {when}, {where}, audience {audience} (past)",
                                    **values) if event.starts_at <= turn.now else
                             turn.t("{id}: {title}, {when}, {where}, audience {audience}",
                                    **values)))
    turn.say("\n".join(lines))
    return None


async def event_new(turn: Turn) -> Transition:
    parts = [p.strip() for p in turn.input.args.split("|")]
    if len(parts) not in (7, 8, 9):
        turn.say(turn.t("Create an event with:") + "\n" + event_new_usage(turn.translator))
        return None
    if re.match(EVENT_ID, parts[0].lower()) and \
            await find_event(turn, parts[0].lower()) is not None:
        turn.say(turn.t("There is already an event {id}. Choose another id.",
                        id=repr(parts[0].lower())))
        return None
    event = new_event(parts, turn.content, turn.now, turn.sender.key, turn.translator)
    if isinstance(event, str):
        turn.say(event)
        return None
    turn.record(CreateEvent(event, turn.now))
    turn.say(turn.t("Created {id}: {title}, {when}. Preview the invite with !broadcast {id}.",
                    id=event.id, title=event.title,
                    when=when_text(event, event.timezone, turn.translator)))
    return None


EVENT_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def new_event(parts: Sequence[str], content: Content, now: datetime, by: str,
              tr: Translator = ENGLISH) -> Event | str:
    """An event from `!event new`'s fields (ID | TITLE | START | ZONE | PLACE | REGIONS |
    AUDIENCE [| CAPACITY [| KIND]]), as `by` creates it now (in chat or on the web); or what
    is wrong with them. Whether the id is taken is the caller's to check."""
    event_id = parts[0].lower()
    if not re.match(EVENT_ID, event_id):
        return tr.t("The event id is one word of lowercase letters, digits, - and _.")
    fields: dict[str, object] = {
        "title": parts[1], "starts": parts[2].replace(" ", "T", 1), "timezone": parts[3],
        "place": parts[4], "regions": [r.strip().lower() for r in parts[5].split(",")
                                       if r.strip() and r.strip() != "-"],
        "audience": parts[6].lower()}
    # AUDIENCE may be project:ID (its meeting, unless KIND says sprint) or workshop:ID (a
    # live session of it): the people of that project or workshop, wherever they are.
    linked, _, target = parts[6].lower().partition(":")
    if target and linked in ("project", "workshop"):
        path = content.of(PathContent)
        if target not in (path.projects if linked == "project" else path.workshops):
            return ((tr.t("Unknown project {id}.", id=repr(one_line(target, 40)))
                     if linked == "project" else
                     tr.t("Unknown workshop {id}.", id=repr(one_line(target, 40))))
                    + "\n" + event_new_usage(tr))
        fields.update({"audience": "everyone", linked: target,
                       "kind": "meeting" if linked == "project" else "workshop-session"})
    if len(parts) >= 8 and parts[7]:
        fields["capacity"] = parts[7]
    if len(parts) == 9 and parts[8]:
        fields["kind"] = parts[8].lower()
    try:
        parsed = EventFile.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "event"
        return (tr.t("That event has a problem in {key}: {problem}.", key=key,
                     problem=err["msg"].removeprefix("Value error, "))
                + "\n" + event_new_usage(tr))
    known = content.of(EventsContent).regions
    unknown = [r for r in parsed.regions if r not in known]
    if unknown:
        return tr.t("Unknown region {code}. Known: {known}.", code=repr(unknown[0]),
                    known=", ".join(known))
    event = parsed.to_event(event_id, "chat", by)
    if event.starts_at <= now:
        return tr.t("That time is in the past. Events need a start in the future.")
    return event


def who_text(event: Event, tr: Translator = ENGLISH) -> str:
    """Who an event's invites reach, besides the audience."""
    if event.project:
        return tr.t("people working on project {id}, wherever they are", id=event.project)
    if event.workshop:
        return tr.t("people at workshop {id} or about to start it, wherever they are",
                    id=event.workshop)
    return tr.t("regions: {regions}, with the regions inside them",
                regions=", ".join(event.regions))


def _estimate(counts: Sequence[tuple[str, str, int]], rates: dict[str, Rate]) -> float:
    per_network: dict[str, int] = {}
    for network, _region, people in counts:
        per_network[network] = per_network.get(network, 0) + people
    seconds = 0.0
    for network, people in per_network.items():
        rate = rates.get(network) or DEFAULT_IRC_LIKE_RATE
        seconds = max(seconds, max(0, people - rate.burst) / rate.per_second)
    return seconds


def preview_lines(event: Event, counts: Sequence[tuple[str, str, int]], content: Content,
                  config: Config, rates: dict[str, Rate], now: datetime,
                  send_at: datetime | None, including: tuple[str, ...] = (),
                  tr: Translator = ENGLISH) -> list[str]:
    """What an organizer sees before confirming: the message, who it reaches per network
    and region, how long delivery takes, and when reminders follow (chat and command line)."""
    # In the organizer's language: each person reads it in theirs (composer).
    sample = invite_message(event, Recipient(PersonId(0), Identity(Network(""), ExternalId(""),
                                                                   False), "", ""),
                            event.timezone, about(event, content, tr), tr)
    answers = " ".join(f"[{tr.t(ANSWER_WORDS[a])}]" for a in ANSWERS)
    lines = [tr.t("Preview of the invite for {id} (audience: {audience}; {who}):", id=event.id,
                  audience=event.audience, who=who_text(event, tr)), "", "---",
             sample.text, f"  {answers}", "---",
             tr.t("Each person reads it in their own language (the one they chose with "
                  "!language), else in the community's default."), ""]
    total = sum(n for _net, _reg, n in counts)
    skipped = (tr.t("those who answered {answers} are invited again; people invited before or "
                    "who answered otherwise are skipped", answers=" or ".join(including))
               if including else
               tr.t("people invited before and people who answered are skipped (add "
                    "`including maybe` to invite those who said maybe again)"))
    if not total:
        lines.append(tr.t("It would reach nobody: no one in these regions and this far along "
                          "has consented to invites, or all of them were skipped ({skipped}).",
                          skipped=skipped))
        return lines
    lines.append(tr.tn("It reaches {n} person (each once, on the network they use; {skipped}):",
                       "It reaches {n} people (each once, on the network they use; {skipped}):",
                       total, skipped=skipped))
    settings = config.settings_of(EventsConfig)
    quiet = settings.quiet
    waiting = 0
    at = send_at or now
    places = content.of(EventsContent)
    for network, region_code, people in counts:
        name = places.regions[region_code].name if region_code in places.regions \
            else region_code
        tz = places.region_timezone(region_code) or settings.default_timezone
        later = quiet.until(at, tz) if quiet else None
        if later is not None:
            waiting += people
        after = later.astimezone(zone(tz)).strftime("%H:%M") if later else ""
        note = (" " + tr.t("(quiet hours there: sent after {time} their time)", time=after)
                if later else "")
        lines.append(f"  {network}, {name}: {people}{note}")
    seconds = _estimate(counts, rates)
    length = describe(timedelta(seconds=max(1, round(seconds))), tr)
    lines.append(tr.t("Estimated delivery time at the networks' rate limits: {length}; {n} wait "
                      "for the end of their quiet hours.", length=length, n=waiting) if waiting
                 else tr.t("Estimated delivery time at the networks' rate limits: {length}.",
                           length=length))
    if send_at is not None:
        lines.append(tr.t("Scheduled for {when} ({zone}).", zone=event.timezone,
                          when=_when(send_at.astimezone(zone(event.timezone)), tr)))
    reminders = reminder_times(event, config, at)
    if reminders:
        lines.append(tr.t("Reminders to those who say yes: {times}.", times=", ".join(
            _when(r.astimezone(zone(event.timezone)), tr) for r in reminders)))
    return lines


async def _preview(turn: Turn, event: Event, send_at: datetime | None,
                   including: tuple[str, ...]) -> None:
    counts = await reads_of(turn.reads).audience_counts(
        audience_of(event, "invite", turn.content, including))
    lines = preview_lines(event, counts, turn.content, turn.config, dict(turn.rates), turn.now,
                          send_at, including, turn.translator)
    if counts:
        lines += ["", turn.t("Nothing is sent yet. Type !broadcast confirm to send, or "
                             "!broadcast cancel.")]
    turn.say("\n".join(lines))


async def broadcast_preview(turn: Turn) -> Transition:
    """`!broadcast EVENT [at YYYY-MM-DD HH:MM] [including ANSWER]`: what would be sent, to
    whom, and when."""
    args = turn.input.args.strip()
    match = _AT.match(args)
    including = INCLUDING.get((match["including"] or "").lower()) if match else None
    if match is None or (match["including"] and including is None):
        turn.say(turn.t("Usage: !broadcast {usage} (the time in the event's time zone), then "
                        "!broadcast confirm. People who answered are not invited again, unless "
                        "you add `including` and their answer (maybe, no, yes, or answered for "
                        "all).", usage=BROADCAST_USAGE))
        return None
    event = await find_event(turn, match["event"])
    if event is None:
        turn.say(turn.t("I don't know the event {id}. !event list shows them.",
                        id=repr(one_line(match["event"], 40))))
        return None
    send_at: datetime | None = None
    if match["when"]:
        local = datetime.fromisoformat(match["when"].replace(" ", "T"))
        send_at = local.replace(tzinfo=zone(event.timezone))
        if send_at <= turn.now:
            turn.say(turn.t("That time is in the past. Leave it out to send now."))
            return None
    if event.starts_at <= turn.now:
        turn.say(turn.t("{id} has already started; there is nothing to invite to.", id=event.id))
        return None
    events_of(turn).broadcast_preview = Preview(
        event=event.id, send_at=send_at.isoformat() if send_at else "",
        including=including or ())
    await _preview(turn, event, send_at, including or ())
    return None


async def broadcast_confirm(turn: Turn) -> Transition:
    mine = events_of(turn)
    pending = mine.broadcast_preview
    if pending is None:
        turn.say(turn.t("There is nothing to confirm. Preview first with !broadcast EVENT."))
        return None
    mine.broadcast_preview = None
    event = await find_event(turn, pending.event)
    if event is None:
        turn.say(turn.t("That event no longer exists."))
        return None
    at = datetime.fromisoformat(pending.send_at) if pending.send_at else turn.now
    schedule_event_broadcasts(turn, event, at, tuple(pending.including))
    if at <= turn.now:
        turn.say(turn.t("Invites for {id} are scheduled now: delivery has started. Follow them "
                        "with !event status {id}.", id=event.id))
    else:
        turn.say(turn.t("Invites for {id} are scheduled for {when} ({zone}). Follow them with "
                        "!event status {id}.", id=event.id, zone=event.timezone,
                        when=_when(at.astimezone(zone(event.timezone)), turn.translator)))
    return None


async def broadcast_cancel(turn: Turn) -> Transition:
    target = turn.input.args.strip().lower()
    if not target:
        mine = events_of(turn)
        dropped, mine.broadcast_preview = mine.broadcast_preview, None
        turn.say(turn.t("Cancelled: nothing was sent.") if dropped else
                 turn.t("Nothing to cancel. (!broadcast cancel EVENT cancels scheduled sends.)"))
        return None
    event = await find_event(turn, target)
    if event is None:
        turn.say(turn.t("I don't know the event {id}.", id=repr(one_line(target, 40))))
        return None
    turn.record(CancelBroadcast(event.id))
    turn.say(turn.t("Cancelled every scheduled send of {id} that had not started. "
                    "(!event status {id} shows what went out.)", id=event.id))
    return None


def schedule_event_broadcasts(turn: Turn, event: Event, send_at: datetime,
                              including: tuple[str, ...] = ()) -> None:
    for record in broadcast_records(event, turn.config, send_at, turn.sender.key, turn.now,
                                    including):
        turn.record(record)


def broadcast_records(event: Event, config: Config, send_at: datetime, by: str,
                      now: datetime, including: tuple[str, ...] = ()) -> list[ScheduleBroadcast]:
    """The invite at `send_at` (again to those who answered one of `including`), and the
    event's reminders after it."""
    return [ScheduleBroadcast(event.id, "invite", send_at, by, now, including), *(
        ScheduleBroadcast(event.id, "reminder", at, by, now)
        for at in reminder_times(event, config, send_at))]


def delivery_lines(broadcast: Broadcast, counts: dict[str, int], resent: dict[str, int],
                   failures: Sequence[tuple[str, int]], tz: str,
                   tr: Translator = ENGLISH) -> list[str]:
    """How one broadcast's sends went, for its organizer (in `tr`'s language)."""
    when = broadcast.send_at.astimezone(zone(tz))
    lines = ["  " + tr.t("#{id} {kind}, {status}, {when}: {n} queued", id=broadcast.id,
                         kind=broadcast.kind, status=broadcast.status, when=_when(when, tr),
                         n=broadcast.recipients)]
    if broadcast.recipients:
        lines.append("    " + tr.t(
            "delivered {sent}, waiting {waiting}, deferred (quiet hours) {deferred}, failed "
            "{dead}, unknown {unknown}", sent=counts.get("sent", 0),
            waiting=counts.get("pending", 0) + counts.get("sending", 0),
            deferred=counts.get("deferred", 0), dead=counts.get("dead", 0),
            unknown=counts.get("unknown", 0)))
    for reason, count in failures:
        lines.append("    " + tr.t("failed {n}: {reason}", n=count, reason=one_line(reason, 120)))
    for network, count in sorted(resent.items()):
        lines.append("    " + tr.t("{n} sent again on {network} after a restart (a duplicate is "
                                   "possible unless the network deduplicates)", n=count,
                                   network=network))
    return lines


async def event_status(turn: Turn) -> Transition:
    event = await event_named(turn, N_("Usage: !event status EVENT (!event list shows them)."))
    if event is None:
        return None
    lines = [f"{event.title} ({event.id}), "
             f"{when_text(event, event.timezone, turn.translator)}"]
    answers = await reads_of(turn.reads).rsvp_counts(event.id)
    if answers:
        totals = {a: sum(n for _r, x, n in answers if x == a) for a in ANSWERS}
        lines.append(turn.tn("Answers: yes {yes} of {n} place, maybe {maybe}, no {no}. By "
                             "region:", "Answers: yes {yes} of {n} places, maybe {maybe}, no "
                             "{no}. By region:", event.capacity, **totals) if event.capacity
                     else turn.t("Answers: yes {yes}, maybe {maybe}, no {no}. By region:",
                                 **totals))
        regions = sorted({r for r, _a, _n in answers})
        known = turn.content.of(EventsContent).regions
        for code in regions:
            name = known[code].name if code in known else (code or turn.t("no region"))
            per = {a: n for r, a, n in answers if r == code}
            lines.append("  " + turn.t("{name}: yes {yes}, maybe {maybe}, no {no}", name=name,
                                       yes=per.get("yes", 0), maybe=per.get("maybe", 0),
                                       no=per.get("no", 0)))
    else:
        lines.append(turn.t("No answers yet."))
    lines += await buddies.status_lines(turn, event)
    checked_in = await reads_of(turn.reads).attendance_count(event.id)
    if checked_in or event.starts_at <= turn.now:
        lines.append(turn.t("Checked in: {n} (the code: !checkin code {id}).", n=checked_in,
                            id=event.id))
    said = await reads_of(turn.reads).event_feedback(event.id)
    if said:
        average = sum(r for r, _c in said) / len(said)
        shown = f"{average:.1f}"
        comments = "".join(f"\n  {r}: {one_line(c, 200)}" for r, c in said[-5:] if c)
        lines.append(turn.tn("Feedback: {n} answer, average {average} of 5",
                             "Feedback: {n} answers, average {average} of 5", len(said),
                             average=shown) + comments)
    broadcasts = await reads_of(turn.reads).broadcasts_of(event.id)
    if broadcasts:
        lines.append(turn.t("Sends:"))
        for broadcast in broadcasts:
            counts = await reads_of(turn.reads).delivery_counts(broadcast.id)
            lines += delivery_lines(broadcast, counts.by_status, counts.resent, counts.failures,
                                    event.timezone, turn.translator)
    else:
        lines.append(turn.t("No sends yet: !broadcast {id} previews one.", id=event.id))
    turn.say("\n".join(lines))
    return None


def export_csv(rows: Sequence[tuple[int, str, str, int, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["person", "identities", "region", "answer", "milestone",
                     "travel_grant_eligible"])
    for person, answer, region_code, reached, identities in rows:
        writer.writerow([person, _safe_cell(identities), region_code, answer,
                         _milestone_name(reached),
                         "yes" if reached >= TRAVEL_GRANT_MILESTONE else "no"])
    return buffer.getvalue().encode()


def _safe_cell(text: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: defuse them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _milestone_name(value: int) -> str:
    return next((name for name, level in AUDIENCES.items() if level == value), str(value))


async def event_export(turn: Turn) -> Transition:
    event = await event_named(turn, N_("Usage: !event export EVENT (!event list shows them)."))
    if event is None:
        return None
    rows = await reads_of(turn.reads).rsvp_list(event.id)
    eligible = sum(1 for r in rows if r[1] == "yes" and r[3] >= TRAVEL_GRANT_MILESTONE)
    turn.replies.append(Outbound(
        turn.room, turn.t("Answers for {id}: {people} people; {eligible} said yes and made it "
                          "through the first four steps (eligible for travel support).",
                          id=event.id, people=len(rows), eligible=eligible),
        file=FileRef(f"{event.id}-rsvps.csv", "text/csv", export_csv(rows))))
    return None


def broadcast_plan(store: EventsReads, content: Content, config: Config) -> Plan:
    """What the broadcaster sends for a due broadcast (flows.events.broadcaster.Plan)."""

    async def plan(broadcast: Broadcast, now: datetime) -> tuple[Audience, Compose] | None:
        if broadcast.kind == MESSAGE:  # an invite list's message (a local group's)
            return Audience((), members=broadcast.event_id), message_composer(
                broadcast.message, content, config, now, broadcast.frame)
        event = (content.of(EventsContent).events.get(broadcast.event_id)
                 or await store.event(broadcast.event_id))
        if event is None or event.starts_at <= now:
            return None
        return (audience_of(event, broadcast.kind, content, broadcast.including),
                composer(event, broadcast.kind, content, config, now))

    return plan
