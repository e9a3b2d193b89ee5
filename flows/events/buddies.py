"""First-timers at face-to-face events: an experienced attendee (checked in at an event
before) may volunteer as a buddy when saying yes (`!rsvp EVENT yes buddy`); a first-timer who
says yes is paired with one a week before the start (a due job), and both are introduced to
each other privately. Organizers see the pairs in `!event status` and `wayfinder buddies`."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.config import Config
from bot.flow import Due, Handler, Transition, Turn
from bot.i18n import Translator
from bot.model import Identity, PersonId
from bot.ports import Reads
from flows.events.content import EventsContent
from flows.events.reads import reads_of
from flows.events.records import BuddyNeed, Event, PairBuddy, SetBuddy

PAIR_BEFORE = timedelta(days=7)  # first-timers meet their buddy a week before
FACE_TO_FACE = ("meetup", "hackathon", "conference")


def face_to_face(event: Event) -> bool:
    """Where people meet in person: not a call (a place that is a link)."""
    return event.kind in FACE_TO_FACE and not event.place.lower().startswith(("http:", "https:"))


async def after_answer(turn: Turn, event: Event, answer: str, volunteer: bool) -> str:
    """Buddies after an answer to a face-to-face event: what to add to the reply."""
    if not face_to_face(event):
        return " " + turn.t("(Buddies are for events in person.)") if volunteer else ""
    reads = reads_of(turn.reads)
    role = await reads.buddy_role(event.id, turn.person_id)
    if answer != "yes":
        if role is not None:
            turn.record(SetBuddy(event.id, turn.person_id, role, on=False))
        return ""
    experienced = await reads.attendance_of(turn.person_id) > 0
    if volunteer and not experienced:
        volunteer = False
        note = " " + turn.t("Buddies are people who've been to one of our events before; this "
                            "time, I'll introduce you to one.")
    else:
        note = ""
    if volunteer:
        if role != "volunteer":
            turn.record(SetBuddy(event.id, turn.person_id, "volunteer", on=True))
        return " " + turn.t("Thank you for volunteering as a buddy: a week before, I may "
                            "introduce you to someone coming for the first time.")
    if experienced:
        if role == "volunteer" and not volunteer:
            turn.record(SetBuddy(event.id, turn.person_id, "volunteer", on=False))
            return " " + turn.t("You're no longer a buddy for it.")
        return ""
    if role != "newcomer":
        pair_at = max(turn.now, event.starts_at - PAIR_BEFORE)
        turn.record(SetBuddy(event.id, turn.person_id, "newcomer", on=True, pair_at=pair_at,
                             starts_at=event.starts_at))
    return note or " " + turn.t("It's your first event with us: a week before, I'll introduce "
                                "you to a buddy who has been before.")


def _reach(identity: Identity, tr: Translator) -> str:
    network = identity.network.upper() if len(identity.network) <= 3 else \
        identity.network.capitalize()
    handle = identity.external_id
    return (tr.t("on {network}", network=network) if handle.lstrip("-").isdigit() else
            tr.t("{handle} on {network}", handle=handle, network=network))


def _introduce(need: BuddyNeed, buddy: PersonId, buddy_identity: Identity) -> Handler:
    async def run(turn: Turn) -> Transition:
        event = (turn.content.of(EventsContent).events.get(need.event_id)
                 or await reads_of(turn.reads).event(need.event_id))
        if event is None or event.starts_at <= turn.now:
            return None
        turn.record(PairBuddy(event.id, need.person_id, buddy, turn.now))
        # Each privately: never in a channel.
        # The turn is the first-timer's; the buddy reads the language their state keeps.
        words = await turn.translator_for(buddy)
        turn.tell(need.identity, turn.t(
            "Your buddy for \"{title}\": {buddy}. They've been to our events before and "
            "offered to show you around: say hello, ask anything, and maybe meet at the door.",
            title=event.title, buddy=_reach(buddy_identity, turn.translator)),
            mention=buddy_identity)
        turn.tell(buddy_identity, words.t(
            "Thanks for being a buddy at \"{title}\": meet {newcomer}, who's coming for the "
            "first time. Say hello before the day, and look out for them there.",
            title=event.title, newcomer=_reach(need.identity, words)),
            mention=need.identity, locale=words.locale)
        turn.event("buddy_paired", event=event.id)
        return None

    return run


async def pair_buddies(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Due: first-timers a week before their event, each with the volunteer who has the
    fewest first-timers so far (lowest person id among equals)."""
    dues = []
    load: dict[tuple[str, PersonId], int] = {}
    for need in await reads_of(reads).buddy_needs(now):
        free = [(load.get((need.event_id, p), n), p, ident) for p, ident, n in need.volunteers
                if p != need.person_id]
        if not free:
            continue  # nobody yet: asked again next tick, until the event starts
        count, buddy, identity = min(free, key=lambda v: (v[0], v[1]))
        load[(need.event_id, buddy)] = count + 1
        dues.append(Due(need.person_id, f"buddy:{need.event_id}:{need.person_id}:{buddy}",
                        _introduce(need, buddy, identity)))
    return dues


async def status_lines(turn: Turn, event: Event) -> list[str]:
    """Organizers' view in !event status: who is whose buddy, who waits, who is free."""
    pairs = await reads_of(turn.reads).buddy_pairs(event.id)
    if not pairs:
        return []
    lines = [turn.t("Buddies:")]
    for newcomer, buddy in pairs:
        if newcomer and buddy:
            lines.append("  " + turn.t("{newcomer} with buddy {buddy}", newcomer=newcomer,
                                       buddy=buddy))
        elif newcomer:
            lines.append("  " + turn.t("{newcomer}: first time, no buddy yet",
                                       newcomer=newcomer))
        else:
            lines.append("  " + turn.t("{buddy}: volunteer, free", buddy=buddy))
    return lines
