"""What newcomers tell the program about their path: at a first `!start`, what brings them
here (choices or their own words, skippable), and after each workshop step and a finished
task, a 1-5 rating with an optional comment (`!rate 4 clear docs`), offered once per subject
and taken once. `wayfinder report feedback` (services/feedback.py) sums them up."""

from __future__ import annotations

from bot.flow import Goto, Transition, Turn
from bot.i18n import N_
from bot.model import Choice
from bot.text import one_line
from flows.path.progress import path_of
from flows.path.records import GiveFeedback
from flows.path.settings import PathConfig

MOTIVES = (
    Choice("learn", N_("Learn new skills")),
    Choice("career", N_("Experience for my CV or career")),
    Choice("give-back", N_("Give back to a project I use")),
    Choice("people", N_("Meet people, find a community")),
    Choice("program", N_("A course, internship or program")),
)
COMMENT_MAX = 500
GREETING = N_("Hi, I'm Wayfinder! I'll help you find a project that fits you, get you set "
              "up, and hand you a first task with a mentor.")


def wants_motive(turn: Turn) -> bool:
    """Ask "what brings you here?": once, at a first !start, where [flows] ask_motive."""
    return turn.settings_of(PathConfig).ask_motive and not path_of(turn).motive_asked


async def ask_motive(turn: Turn) -> Transition:
    path_of(turn).motive_asked = True
    turn.say(turn.t(GREETING) + "\n" + turn.t("Before we start: what brings you here? Pick "
                                              "one, tell me in your own words, or type !skip."),
             [Choice(c.key, turn.t(c.label)) for c in MOTIVES])
    return None


async def motive_reply(turn: Turn) -> Transition:
    if turn.input.command == "skip":
        return Goto("welcome")
    choice = turn.choice
    said = one_line(turn.input.text, COMMENT_MAX).strip()
    if choice is None and (not said or said.startswith("!")):
        turn.say(turn.t("Pick a number, tell me in your own words, or type !skip."))
        return None
    comment = "" if choice is not None else said
    path = path_of(turn)
    turn.record(GiveFeedback(turn.person_id, "motive", path.origin, "start", None,
                             choice or "own-words", comment, turn.now))
    turn.say(turn.t("Thanks, that helps the program understand newcomers."))
    return Goto("welcome")


def offer_rating(turn: Turn, subject: str, project_id: str, what: str) -> str:
    """The offer, once per subject, to rate what was just done ("this step", "your task"):
    a sentence for the caller's message ("" when offered before)."""
    path = path_of(turn)
    if subject in path.rated:
        return ""
    path.rated.append(subject)
    path.rating, path.rating_project = subject, project_id
    return turn.t("How was {what}? If you like, rate it from 1 (poor) to 5 (great): !rate 4, "
                  "or with a comment: !rate 4 the docs were clear.", what=turn.t(what))


async def rate_command(turn: Turn) -> Transition:
    """`!rate N [comment]`: rates what was last offered for rating (once)."""
    path = path_of(turn)
    score, _, comment = turn.input.args.strip().partition(" ")
    if not path.rating:
        turn.say(turn.t("There's nothing to rate right now: after each workshop step and each "
                        "task you can rate it with !rate 1-5."))
        return None
    if score not in {"1", "2", "3", "4", "5"}:
        turn.say(turn.t("Rate from 1 (poor) to 5 (great), e.g. !rate 4, with a comment if you "
                        "like: !rate 4 the docs were clear."))
        return None
    kind, _, subject = path.rating.partition(":")
    turn.record(GiveFeedback(turn.person_id, kind, path.rating_project, subject, int(score),
                             "", one_line(comment, COMMENT_MAX).strip(), turn.now))
    path.rating = path.rating_project = ""
    turn.say(turn.t("Thanks for rating it {score}/5: your comment goes to the program's "
                    "organizers.", score=score) if comment.strip() else
             turn.t("Thanks for rating it {score}/5.", score=score))
    return None
