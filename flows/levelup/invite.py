"""Level-up: people who finished a first task and `[levelup] more_tasks` more are invited,
once, to mentor their project (a due job). `!levelup yes` asks the organizers, who approve
with `!approve NAME`; the person then becomes a mentor of the project (mentoring's
AddMentor), gets the mentor guide from the content, and sets their office hours with !hours."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.flow import Due, Handler, Transition, Turn
from bot.model import ExternalId, Identity, Network
from bot.ports import Reads
from bot.text import one_line
from flows.levelup.content import LevelupContent
from flows.levelup.reads import reads_of
from flows.levelup.records import AnswerInvite, ApproveMentor, InviteToMentor, Levelup
from flows.levelup.settings import LevelupConfig
from flows.mentoring.api import AddMentor, words_for
from flows.path.api import PathContent, PathState


def _invite_handler() -> Handler:
    async def invite(turn: Turn) -> Transition:
        if await reads_of(turn.reads).levelup_of(turn.person_id) is not None:
            return None  # invited meanwhile (a replayed scan)
        path = turn.state(PathState)
        project = turn.content.of(PathContent).projects.get(path.task_project or path.project)
        if project is None or path.left:
            # Nothing to mentor (or they left the path): never asked, never scanned again.
            turn.record(InviteToMentor(turn.person_id, "", path.tasks_done, "skipped", turn.now))
            return None
        turn.record(InviteToMentor(turn.person_id, project.id, path.tasks_done, "invited",
                                   turn.now))
        turn.say(turn.tn("You've finished {n} task on {name}: well done! Would you like to "
                         "mentor {name}'s newcomers, helping them when they are stuck, in the "
                         "hours you choose? Answer !levelup yes or !levelup no.",
                         "You've finished {n} tasks on {name}: well done! Would you like to "
                         "mentor {name}'s newcomers, helping them when they are stuck, in the "
                         "hours you choose? Answer !levelup yes or !levelup no.",
                         path.tasks_done, name=project.name))
        return None

    return invite


async def invitations(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """People who reached the tasks it takes and were never invited (once each)."""
    settings = config.settings_of(LevelupConfig)
    if not settings.enabled:
        return []
    people = await reads_of(reads).levelup_candidates(settings.tasks_needed,
                                                      settings.invites_per_tick)
    return [Due(person, f"levelup:{person}", _invite_handler()) for person in people]


def _organizers(turn: Turn) -> list[Identity]:
    return [o for o in turn.directory.organizer_identities() if o.network in turn.networks]


async def levelup(turn: Turn) -> Transition:
    """`!levelup yes|no`: the answer to the invitation to mentor."""
    answer = turn.input.args.strip().lower()
    mine = await reads_of(turn.reads).levelup_of(turn.person_id)
    if mine is None or mine.status == "skipped":
        settings = turn.settings_of(LevelupConfig)
        turn.say(turn.tn("Once you've finished {n} task, I'll ask whether you'd like to mentor "
                         "your project's newcomers.",
                         "Once you've finished {n} tasks, I'll ask whether you'd like to mentor "
                         "your project's newcomers.", settings.tasks_needed))
        return None
    project = turn.content.of(PathContent).projects.get(mine.project_id)
    name = project.name if project else mine.project_id
    if mine.status == "approved":
        turn.say(turn.t("You're a mentor of {name} already. !hours sets when you help.",
                        name=name))
        return None
    if answer not in ("yes", "no"):
        turn.say(turn.t("Would you like to mentor {name}? Answer !levelup yes or !levelup no.",
                        name=name))
        return None
    if answer == "no":
        turn.record(AnswerInvite(turn.person_id, "declined", "", turn.now))
        turn.say(turn.t("No problem. If you change your mind, !levelup yes."))
        return None
    if mine.status == "asked":
        turn.say(turn.t("You've said yes already: an organizer will approve you soon."))
        return None
    if not turn.sender.verified:
        turn.say(turn.t("Mentors are known by an account the network verifies, and yours "
                        "isn't (log in to the network's services), so I can't make you a mentor "
                        "here. Please answer from a verified account."))
        return None
    turn.record(AnswerInvite(turn.person_id, "asked", turn.sender.key, turn.now))
    organizers = _organizers(turn)
    for organizer in organizers:
        words = await words_for(turn, organizer)  # their stored language, if they wrote
        turn.tell(organizer, words.tn(
            "{key} has finished {n} task on {name} and would like to mentor it. To approve: "
            "!approve {key}",
            "{key} has finished {n} tasks on {name} and would like to mentor it. To approve: "
            "!approve {key}", mine.tasks_done, key=turn.sender.key, name=name),
            locale=words.locale)
    turn.say(turn.t("Thank you! I've asked the organizers to approve you as a mentor of "
                    "{name}; I'll tell you when they do.", name=name) if organizers else
             turn.t("Thank you! I've asked an organizer to approve you as a mentor of {name}; "
                    "I'll tell you when they do.", name=name))
    return None


def _matches(levelup: Levelup, name: str) -> bool:
    key = levelup.identity_key.lower()
    external = key.partition(":")[2]
    return name in (key, external, external.lstrip("@"), external.split(":")[0].lstrip("@"))


async def approve(turn: Turn) -> Transition:
    """`!approve NAME`: make someone who said yes a mentor of their project."""
    name = turn.input.args.strip().lower()
    asked = await reads_of(turn.reads).levelups("asked")
    waiting = ", ".join(a.identity_key for a in asked) or turn.t("nobody")
    if not name:
        turn.say(turn.t("Usage: !approve NAME. Waiting for approval: {waiting}.",
                        waiting=waiting))
        return None
    found = [a for a in asked if _matches(a, name)]
    if len(found) != 1:
        quoted = repr(one_line(name, 60))
        turn.say(turn.t("{name} matches several people. Waiting for approval: {waiting}.",
                        name=quoted, waiting=waiting) if found else
                 turn.t("{name} isn't waiting for approval. Waiting for approval: {waiting}.",
                        name=quoted, waiting=waiting))
        return None
    chosen = found[0]
    project = turn.content.of(PathContent).projects.get(chosen.project_id)
    if project is None:
        turn.say(turn.t("The project {project} is no longer in the content; nothing was "
                        "changed.", project=repr(chosen.project_id)))
        return None
    turn.record(ApproveMentor(chosen.person_id, turn.sender.key, turn.now))
    turn.record(AddMentor(project.id, chosen.identity_key))
    network, _, external = chosen.identity_key.partition(":")
    guide = turn.content.of(LevelupContent).guide_text()
    words = await turn.translator_for(chosen.person_id)  # the new mentor's language
    turn.tell(Identity(Network(network), ExternalId(external), True),
              words.t("You're now a mentor of {project}: welcome! Set the hours you help "
                      "in with, for example, !hours Mon-Fri 18:00-20:00 Europe/Lisbon.",
                      project=project.name) + f"\n\n{guide}", locale=words.locale)
    turn.say(turn.t("{key} is now a mentor of {project}; I've told them.",
                    key=chosen.identity_key, project=project.name))
    return None
