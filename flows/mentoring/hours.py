"""`!hours`: a mentor sets their office hours in chat, e.g. `!hours Mon-Fri 18:00-20:00
Europe/Lisbon` (the time zone is optional: their profile's stays). Help requests reach them
only within those hours; they replace the hours of their profile in mentors.toml."""

from __future__ import annotations

from bot.flow import Transition, Turn
from bot.i18n import reason
from bot.text import one_line
from flows.mentoring.officehours import parse_hours, zone
from flows.mentoring.records import SetMentorHours
from flows.mentoring.roster import roster

EXAMPLE = "!hours Mon-Fri 18:00-20:00 Europe/Lisbon"


def split_zone(text: str, default: str) -> tuple[str, str]:
    """The hours and the time zone of `!hours`'s words: a last word like Area/City (or UTC)
    is the zone; without one, `default`."""
    words = text.split()
    if words and ("/" in words[-1] or words[-1].upper() == "UTC"):
        return " ".join(words[:-1]), words[-1]
    return text, default


async def hours(turn: Turn) -> Transition:
    mentor = roster(turn).mentor_for(turn.sender)
    assert mentor is not None  # the command's role ("mentor") was checked by the core
    args = turn.input.args.strip()
    profile = mentor.profile
    if not args:
        turn.say(turn.t("Your office hours: {hours} ({zone}). Change them with, for example, "
                        "{example} (or !hours always).", hours=profile.hours,
                        zone=profile.timezone, example=EXAMPLE))
        return None
    spec, tz = split_zone(args, profile.timezone)
    spec = spec.strip().lower() or "always"
    try:
        zone(tz)
        parse_hours(spec, tz)
    except ValueError as exc:
        turn.say(turn.t("I couldn't read that: {problem}. For example: {example}, or several: "
                        "!hours mon-fri 18:00-20:00, sat 10:00-12:00 Europe/Lisbon.",
                        problem=one_line(reason(exc, turn.translator), 200),
                        example=EXAMPLE))
        return None
    turn.record(SetMentorHours(mentor.key, spec, tz, turn.now))
    when = turn.t("any time") if spec == "always" else spec
    turn.say(turn.t("Your office hours are now {when} ({zone}). Help requests reach you then; "
                    "!away pauses them.", when=when, zone=tz))
    return None
