"""`!pair on|off`, and the weekly introductions: newcomers of one project who both agreed are
introduced to each other, each in a private message, at most one new partner a week each,
never the same partner twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config import Config
from bot.feature import ProjectInputs
from bot.flow import Due, Handler, Transition, Turn
from bot.i18n import Translator
from bot.model import Identity
from bot.ports import Reads
from flows.pairing.reads import reads_of
from flows.pairing.records import Candidate, Paired, PairStanding
from flows.pairing.state import PairingState
from flows.path.api import PathContent, PathState, chosen_project

FEATURE_NAME = "pairing"  # the feature's name, which keys its projection (feature.py)
WEEK = timedelta(days=7)  # at most one new partner a week, each
PAIR_USAGE = "on | off"


def _project_of(turn: Turn) -> str:
    path = turn.state(PathState)
    known = turn.content.of(PathContent).projects
    return path.project if path.project in known and not path.left else ""


def standing(turn: Turn) -> PairStanding:
    """Who may be paired, from the state a turn leaves (Feature.project)."""
    last = turn.data.get("last_room")
    reach = str(last[0]) if isinstance(last, list) and last else ""
    before = turn.projected.get(FEATURE_NAME)
    project = _project_of(turn)
    pair = turn.peek(PairingState).pair and bool(project)
    # Kept when its fields come out equal, as events' Standing is (flows/events/invites.py).
    if isinstance(before, PairStanding) and before.person_id == turn.person_id and \
            (before.project, before.pair, before.reach) == (project, pair, reach):
        return before
    return PairStanding(turn.person_id, project, pair, reach)


# All that `standing` reads (the engine asks it only when one of them changed): keep them in
# step with it and `_project_of`.
STANDING_INPUTS = ProjectInputs(states=(PairingState,), fields={PathState: ("project", "left")},
                                data=("last_room",))


async def pair_command(turn: Turn) -> Transition:
    wanted = turn.input.args.strip().lower()
    mine = turn.state(PairingState)
    project = chosen_project(turn)
    if wanted in ("on", "yes"):
        if project is None or not _project_of(turn):
            turn.say(turn.t("Peer programming pairs newcomers of the same project: pick yours "
                            "first (!start), then type !pair on."))
            return None
        mine.pair = True
        turn.event("pairing", consent=True)
        turn.say(turn.t("You're on the list for peer programming in {name}. When another "
                        "newcomer of {name} has said yes too, I'll introduce you to each other "
                        "in a private message: at most one new partner a week. !pair off takes "
                        "you off the list.", name=project.name))
    elif wanted in ("off", "no", "stop"):
        mine.pair = False
        turn.event("pairing", consent=False)
        turn.say(turn.t("Done: no more peer-programming introductions. (!pair on if you change "
                        "your mind.)"))
    elif wanted:
        turn.say(turn.t("Type !pair on to be introduced to another newcomer of your project for "
                        "peer programming, or !pair off to stop."))
    else:
        name = project.name if project is not None else ""
        if mine.pair:
            turn.say(turn.t("Peer programming in {name} is on for you. Type !pair on or !pair "
                            "off.", name=name) if name else
                     turn.t("Peer programming is on for you. Type !pair on or !pair off."))
        else:
            turn.say(turn.t("Peer programming in {name} is off for you. Type !pair on or !pair "
                            "off.", name=name) if name else
                     turn.t("Peer programming is off for you. Type !pair on or !pair off."))
    return None


def _reach(identity: Identity, tr: Translator) -> str:
    """How to find someone: their handle and network; only the network where their id there
    is a number no one can look up (the message mentions them too)."""
    network = identity.network.upper() if len(identity.network) <= 3 else \
        identity.network.capitalize()
    handle = identity.external_id
    return (tr.t("on {network}", network=network) if handle.lstrip("-").isdigit() else
            tr.t("{handle} on {network}", handle=handle, network=network))


def _introduce(first: Candidate, second: Candidate) -> Handler:
    async def run(turn: Turn) -> Transition:
        project = turn.content.of(PathContent).projects.get(first.project)
        if not turn.state(PairingState).pair or project is None:  # changed since the scan
            return None
        project_name = project.name
        turn.record(Paired(first.project, first.person_id, second.person_id, turn.now))
        # The turn is the first's; the second reads the language their state keeps.
        theirs = await turn.translator_for(second.person_id)
        for me, other, tr in ((first, second, turn.translator), (second, first, theirs)):
            # Each privately: who the other is and how to reach them, never in a channel.
            turn.tell(me.identity, tr.t(
                "Meet your peer-programming partner in {project}: {partner}. You both asked "
                "to pair (!pair on). Say hello, pick a task together (!task), and share a "
                "screen or a document. !pair off if you'd rather not be introduced again.",
                project=project_name, partner=_reach(other.identity, tr)),
                mention=other.identity, locale=tr.locale)
        turn.event("paired", project=first.project)
        return None

    return run


def pairs_of(found: Sequence[Candidate]) -> list[tuple[Candidate, Candidate]]:
    """Pair people of the same project in order, each at most once, never with an earlier
    partner."""
    pairs: list[tuple[Candidate, Candidate]] = []
    taken: set[int] = set()
    for index, first in enumerate(found):
        if first.person_id in taken:
            continue
        for second in found[index + 1:]:
            if (second.project == first.project and second.person_id not in taken
                    and second.person_id not in first.partners):
                taken |= {first.person_id, second.person_id}
                pairs.append((first, second))
                break
    return pairs


async def pair_up(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Due: introductions of newcomers who agreed and had no new partner for a week."""
    found = await reads_of(reads).pair_candidates(now - WEEK)
    week = now.strftime("%G-W%V")
    return [Due(first.person_id, f"pair:{first.person_id}:{second.person_id}:{week}",
                _introduce(first, second))
            for first, second in pairs_of(found)]
