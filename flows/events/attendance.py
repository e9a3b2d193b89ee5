"""After an event: check-in at the venue (`!checkin CODE`, the code organizers show there,
made with `!checkin code EVENT`), which records attendance (counted in the person's record
and the travel report), and the next day's follow-up, sent privately: thanks, next steps and
a feedback question (`!feedback EVENT 1-5 [comment]`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.codes import random_code
from bot.config import Config
from bot.fields import zone
from bot.flow import Due, Handler, Transition, Turn
from bot.i18n import N_
from bot.model import Identity
from bot.ports import Reads
from bot.text import one_line
from flows.events.invites import _when, event_named, find_event, when_text
from flows.events.reads import reads_of
from flows.events.records import CheckIn, Event, FollowedUp, SetCheckinCode, SetFeedback
from flows.path.api import attend_session, next_hint

OPENS_BEFORE = timedelta(hours=1)  # check-in opens this long before the start
CLOSES_AFTER = timedelta(hours=12)  # and closes this long after it (a long hackathon day)
FOLLOW_UP_AT = time(10, 0)  # the next day, in the event's time zone
CODE_LENGTH = 6
CHECKIN_USAGE = "CODE"
FEEDBACK_USAGE = "EVENT 1-5 [comment]"


def _code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())[:16]


def follow_up_time(event: Event) -> datetime:
    """10:00 the day after the event, where it happens."""
    local = event.starts_at.astimezone(zone(event.timezone))
    return datetime.combine(local.date() + timedelta(days=1), FOLLOW_UP_AT,
                            tzinfo=zone(event.timezone))


async def checkin(turn: Turn) -> Transition:
    """`!checkin CODE`: I was there."""
    code = _code(turn.input.args)
    if not code:
        turn.say(turn.t("At an event, type !checkin and the code shown at the venue, e.g. "
                        "!checkin K7Q2MX."))
        return None
    reads = reads_of(turn.reads)
    event_id = await reads.event_of_code(code)
    event = await find_event(turn, event_id) if event_id else None
    if event is None:
        turn.say(turn.t("I don't know the check-in code {code}. Check it at the venue (the "
                        "organizers show it) and type !checkin CODE.",
                        code=repr(one_line(turn.input.args, 20))))
        return None
    opens, closes = event.starts_at - OPENS_BEFORE, event.starts_at + CLOSES_AFTER
    if turn.now < opens:
        turn.say(turn.t("Check-in for \"{title}\" opens an hour before it starts ({when}). See "
                        "you there!", title=event.title,
                        when=when_text(event, event.timezone, turn.translator)))
        return None
    if turn.now > closes:
        turn.say(turn.t("Check-in for \"{title}\" has closed. If you were there, tell the "
                        "organizers: they can note it.", title=event.title))
        return None
    if await reads.attended(event.id, turn.person_id):
        turn.say(turn.t("You're already checked in at \"{title}\".", title=event.title))
        return None
    turn.record(CheckIn(event.id, turn.person_id, event.kind, turn.now, follow_up_time(event)))
    extra = {"workshop": event.workshop} if event.workshop else {}
    turn.event("attended", event=event.id, event_kind=event.kind, **extra)
    if event.workshop:
        attend_session(turn, event.workshop)
    counts = (turn.t("It counts as progress on your workshop, and it's on your record (!me).")
              if event.kind == "workshop-session" else
              turn.t("It's on your record (!me), which counts toward travel support."))
    turn.say(turn.t("Checked in at \"{title}\". Thanks for coming!", title=event.title)
             + f" {counts}")
    return None


async def checkin_code(turn: Turn) -> Transition:
    """`!checkin code EVENT` (organizers): the code to show at the venue, made once."""
    event = await event_named(turn, N_("Usage: !checkin code EVENT (!event list shows them)."))
    if event is None:
        return None
    code = await reads_of(turn.reads).checkin_code(event.id)
    if code is None:
        code = random_code(CODE_LENGTH)
        turn.record(SetCheckinCode(event.id, code, turn.sender.key, turn.now))
    opens = (event.starts_at - OPENS_BEFORE).astimezone(zone(event.timezone))
    closes = (event.starts_at + CLOSES_AFTER).astimezone(zone(event.timezone))
    turn.say(turn.t("Check-in code for {id}: {code}\nShow it at the venue: people type !checkin "
                    "{code} from {opens} to {closes} ({zone}). !event status {id} counts them.",
                    id=event.id, code=code, opens=_when(opens, turn.translator),
                    closes=_when(closes, turn.translator), zone=event.timezone))
    return None


async def feedback(turn: Turn) -> Transition:
    """`!feedback EVENT 1-5 [comment]`: how it was, for someone who was there."""
    event_id, _, rest = turn.input.args.strip().partition(" ")
    rating_text, _, comment = rest.strip().partition(" ")
    if not rating_text.isdigit() or not 1 <= int(rating_text) <= 5:
        turn.say(turn.t("Usage: !feedback {usage}, e.g. !feedback {event} 5 great talks.",
                        usage=FEEDBACK_USAGE, event=event_id or "EVENT"))
        return None
    event = await find_event(turn, event_id)
    if event is None or not await reads_of(turn.reads).attended(event.id, turn.person_id):
        turn.say(turn.t("I can take feedback on events you checked in at (!checkin CODE at the "
                        "venue)."))
        return None
    turn.record(SetFeedback(event.id, turn.person_id, int(rating_text),
                            one_line(comment, 500)))
    turn.event("event_feedback", event=event.id, rating=int(rating_text))
    turn.say(turn.t("Thank you! The organizers of \"{title}\" will read it.",
                    title=event.title))
    return None


def _follow_up(event_id: str, identity: Identity) -> Handler:
    async def run(turn: Turn) -> Transition:
        turn.record(FollowedUp(event_id, turn.person_id))  # once, whatever happens next
        event = await find_event(turn, event_id)
        if event is None:
            return None
        # The hint in the person's language starts with its own "Next: ": drop that word.
        head, sep, rest = next_hint(turn).partition(": ")
        nxt = rest if sep and " " not in head else head
        # Privately, to the person: never in the channel they last spoke in.
        turn.tell(identity, turn.t(
            "Thanks for coming to \"{title}\"! Next steps: {next} !events shows what's coming "
            "up.\nHow was it? Tell us with !feedback {event} 1-5 and a comment if you like, "
            "e.g. !feedback {event} 5 met great people.", title=event.title, next=nxt,
            event=event.id))
        return None

    return run


async def follow_ups(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Due: the day after an event, a follow-up to each person who checked in."""
    return [Due(f.person_id, f"follow-up:{f.event_id}:{f.person_id}",
                _follow_up(f.event_id, f.identity))
            for f in await reads_of(reads).due_follow_ups(now)]
