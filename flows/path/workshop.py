"""Step 2, "Get started": the project's workshop, step by step, with checkpoints."""

from __future__ import annotations

import re

from bot.caches import remember
from bot.flow import Flow, Goto, Step, Transition, Turn
from bot.i18n import ENGLISH, N_, Translator
from bot.model import Choice
from bot.patterns import matches
from flows.events.api import EventsContent, EventsState
from flows.forge.api import check_checkpoint
from flows.mentoring.api import MentoringConfig
from flows.path.certificates import announce, issue
from flows.path.content import (
    SHOWN_KEPT,
    AnswerCheckpoint,
    ConfirmCheckpoint,
    ForgeLinkCheckpoint,
    GerritAccountCheckpoint,
    PathContent,
    UrlCheckpoint,
    Workshop,
    WorkshopStep,
    step_stuck_after,
)
from flows.path.feedback import offer_rating
from flows.path.progress import (
    chosen_workshop,
    expect_progress,
    no_progress_expected,
    path_of,
    set_workshop_index,
    where_to_ask,
)
from flows.path.state import PathState


def _checkpoint_prompt(step: WorkshopStep, tr: Translator) -> tuple[str, list[Choice]]:
    checkpoint = step.checkpoint
    if isinstance(checkpoint, AnswerCheckpoint):
        return tr.t("Checkpoint: {prompt}", prompt=checkpoint.question), []
    if isinstance(checkpoint, UrlCheckpoint | GerritAccountCheckpoint):
        return tr.t("Checkpoint: {prompt}", prompt=checkpoint.prompt), []
    if isinstance(checkpoint, ForgeLinkCheckpoint):
        forge = {"gerrit": "Gerrit", "github": "GitHub", "gitlab": "GitLab"}[checkpoint.forge]
        return tr.t("Checkpoint: {prompt}", prompt=checkpoint.prompt or tr.t(
            "Paste the link to your repository or change on {forge}.", forge=forge)), []
    return tr.t("Checkpoint: tell me when you're done."), [Choice("done", tr.t("Done"))]


def _passes(step: WorkshopStep, turn: Turn) -> bool:
    checkpoint = step.checkpoint
    answer = turn.input.text.strip()
    if isinstance(checkpoint, AnswerCheckpoint):
        normal = " ".join(answer.lower().split())
        return any(normal == " ".join(a.lower().split()) for a in checkpoint.accept)
    if isinstance(checkpoint, UrlCheckpoint):
        return matches(checkpoint.pattern, answer)
    return turn.choice == "done" or answer.lower() in {"done", "yes", "ok", "finished", "y"}


def _hint(step: WorkshopStep, answer: str, tr: Translator) -> str:
    checkpoint = step.checkpoint
    if isinstance(checkpoint, AnswerCheckpoint):
        return tr.t("That's not quite it. Have another look at the instructions and try again.")
    if isinstance(checkpoint, UrlCheckpoint):
        return url_hint(answer.strip(), checkpoint.example or _example_in(checkpoint.prompt),
                        tr)
    return tr.t("When you've finished this step, type done (or 1).")


def _example_in(prompt: str) -> str:
    """A link quoted in the checkpoint's prompt, as its example when it gives none."""
    found = re.search(r"https?://[^\s()]+", prompt)
    return found.group(0).rstrip(".,;:") if found else ""


def _parts(link: str) -> tuple[str, str, list[str]]:
    """(scheme, host, path segments) of a link."""
    scheme, _, rest = link.partition("://")
    host, _, path = rest.partition("/")
    return scheme.lower(), host.lower(), [p for p in path.split("/") if p]


def url_hint(answer: str, example: str, tr: Translator = ENGLISH) -> str:
    """Why a pasted link fails a checkpoint, said plainly, with the expected form."""
    form = " " + (tr.t("It should look like this: {example}", example=example) if example else
                  tr.t("Copy it from your browser's address bar."))
    if "://" not in answer:
        return tr.t("That isn't a web address: paste the whole link, starting with "
                    "https://.") + form
    if not example:
        return tr.t("That link isn't the one this step asks for.") + form
    scheme, host, path = _parts(answer)
    want_scheme, want_host, want_path = _parts(example)
    if scheme != want_scheme:
        why = tr.t("it starts with {scheme}://, and this step needs {wanted}://",
                   scheme=scheme, wanted=want_scheme)
    elif host != want_host:
        why = tr.t("it points to {host}, and this step needs a link on {wanted}", host=host,
                   wanted=want_host)
    else:
        from difflib import SequenceMatcher  # only when a link is wrong

        missing = [want_path[i1:i2] for op, i1, i2, _, _ in
                   SequenceMatcher(None, want_path, path, autojunk=False).get_opcodes()
                   if op == "delete"]
        gaps = ", ".join(f"\"/{'/'.join(m)}/\"" for m in missing)
        why = (tr.t("it is missing {gaps}", gaps=gaps) if missing else
               tr.t("its path is not the one this step expects"))
    return tr.t("That link doesn't fit this step: {why}.", why=why) + form


def _realign(turn: Turn, path: PathState, workshop: Workshop, index: int) -> tuple[int, bool]:
    """Where the person really is after a content reload: the step they were shown may
    have moved (steps added or removed before it) or gone. Returns the index to go on from
    and whether their step is gone."""
    shown = path.on_step
    ids = [s.id for s in workshop.steps]
    if not shown or (index < len(ids) and ids[index] == shown):
        return index, False
    if shown in ids:
        return ids.index(shown), False
    turn.say(turn.t("The step you were on ({step}) is no longer part of \"{title}\": the "
                    "organizers changed the workshop. Let's go on from here.", step=shown,
                    title=workshop.title))
    return min(index, len(ids)), True


def _current(turn: Turn) -> tuple[PathState, Workshop, int] | None:
    """The person's path, their project's workshop and the index of their step in it.
    The path read once: asked on every turn at a step (its offers), and again by its answer
    and the step shown next (~2k instructions a message of bench.core)."""
    path = path_of(turn)
    workshop = turn.content.of(PathContent).workshop_for(path.project)
    if workshop is None:
        return None
    return path, workshop, path.workshops.get(workshop.id, 0)


async def show_step(turn: Turn) -> Transition:
    current = _current(turn)
    if current is None:
        turn.say(turn.t("Your project has no workshop, so let's go straight to a first task."))
        return Goto("offer", flow="first_task")
    path, workshop, index = current
    if index >= len(workshop.steps):
        return Goto("done")
    step = workshop.steps[index]
    path.on_step = step.id
    expect_progress(turn, f"workshop:{workshop.id}:{step.id}",
                    step_stuck_after(step, turn.settings_of(MentoringConfig).stuck))
    text, choices = _step_text(turn.content.of(PathContent), workshop, index, turn.translator)
    turn.say(text, choices)
    return None


def _step_text(content: PathContent, workshop: Workshop, index: int,
               tr: Translator) -> tuple[str, tuple[Choice, ...]]:
    """A workshop step as shown, and its choices: made of the content and the language alone,
    so worded once per content version (a quarter of bench.core's turns show a step, and
    wording it was most of their cost)."""
    key = ("step", workshop.id, index, tr)
    found = content.shown.get(key)
    if found is None:
        step = workshop.steps[index]
        prompt, offered = _checkpoint_prompt(step, tr)
        extras = [tr.t("!back for the previous step") if index else "",
                  tr.t("!skip to skip it") if step.skippable else "",
                  tr.t("!pause to stop for now")]
        footer = ", ".join(e for e in extras if e)
        heading = tr.t("{workshop}: step {number} of {count}, {title}",
                       workshop=workshop.title, number=index + 1, count=len(workshop.steps),
                       title=step.title)
        found = remember(content.shown, key, (
            f"{heading}\n\n{tr.local(step.body).strip()}\n\n{prompt}\n({footer}.)",
            tuple(offered)), SHOWN_KEPT)
    return found


async def check_step(turn: Turn) -> Transition:
    current = _current(turn)
    if current is None:
        return Goto("step")
    path, workshop, index = current
    index, gone = _realign(turn, path, workshop, index)
    set_workshop_index(path, workshop.id, index)
    if gone:
        return Goto("step")  # the answer was meant for the step that is gone
    if index >= len(workshop.steps):
        return Goto("done")
    step = workshop.steps[index]
    command = turn.input.command
    if command == "back":
        if index == 0:
            turn.say(turn.t("This is the first step already. (!start over to choose another "
                            "project.)"))
            return None
        set_workshop_index(path, workshop.id, index - 1)
        return Goto("step")
    if command == "skip":
        if not step.skippable:
            turn.say(turn.t("This step can't be skipped: the next ones build on it. If it is "
                            "hard, your project's support channel and mentors are there to "
                            "help."))
            return None
        turn.event("step_skipped", workshop=workshop.id, step=step.id)
        set_workshop_index(path, workshop.id, index + 1)
        return Goto("step")
    checkpoint = step.checkpoint
    if isinstance(checkpoint, GerritAccountCheckpoint | ForgeLinkCheckpoint):
        forge = checkpoint.forge if isinstance(checkpoint, ForgeLinkCheckpoint) else "gerrit"
        verdict = await check_checkpoint(turn, checkpoint.kind, forge, turn.input.text)
        if not verdict.passed:
            turn.say(verdict.say)
            return None
    elif not _passes(step, turn):
        said = turn.input.text.strip()
        asking = said.endswith("?") or (isinstance(step.checkpoint, ConfirmCheckpoint)
                                         and not turn.picked)
        hint = _hint(step, turn.input.text, turn.translator)
        turn.say(f"{where_to_ask(turn)}\n{hint}" if asking else hint)
        return None
    turn.event("step_done", workshop=workshop.id, step=step.id)
    set_workshop_index(path, workshop.id, index + 1)
    if index + 1 < len(workshop.steps):  # the last step's offer goes with the congratulations
        offer = offer_rating(turn, f"step:{workshop.id}/{step.id}", path.project,
                             N_("this step"))
        turn.say((turn.t("Checkpoint passed. Nice work!") + "\n" + offer).rstrip())
    return Goto("step")


async def finish(turn: Turn) -> Transition:
    workshop = chosen_workshop(turn)
    if workshop is None:
        return Goto("offer", flow="first_task")
    no_progress_expected(turn)
    path = path_of(turn)
    done = path.completed_workshops
    if workshop.id not in done:
        done.append(workshop.id)
        turn.event("workshop_done", workshop=workshop.id)
        last = workshop.steps[-1]
        offer = offer_rating(turn, f"step:{workshop.id}/{last.id}", path.project,
                             N_("the last step"))
        done_text = turn.t("You finished \"{title}\". Congratulations!", title=workshop.title)
        if workshop.certificate:
            await announce(turn, issue(turn, workshop.id, workshop.title), done_text, then=offer)
        else:
            turn.say(f"{done_text}\n{offer}".rstrip())
        offer_region(turn)
    return Goto("offer", flow="first_task")


def offer_region(turn: Turn) -> None:
    """Once along the path: events exist, and how to hear about them."""
    path = path_of(turn)
    if turn.content.of(EventsContent).regions and not path.region_offered and \
            not turn.state(EventsState).region:
        path.region_offered = True
        turn.say(turn.t("The community also meets in person and online. Type !region to "
                        "choose your region and get invites to events near you (only if you "
                        "say so)."))


def step_offers(turn: Turn) -> tuple[str, ...]:
    """!back past the first step, !skip on a step that may be skipped."""
    current = _current(turn)
    if current is None or current[2] >= len(current[1].steps):
        return ()
    _, workshop, index = current
    # Asked on every turn at a step (the engine's offered commands): the four answers
    # spelled out rather than filtered.
    if workshop.steps[index].skippable:
        return ("back", "skip") if index > 0 else ("skip",)
    return ("back",) if index > 0 else ()


FLOW = Flow("workshop", steps=(
    Step("step", enter=show_step, reply=check_step, commands=("back", "skip"),
         offers=step_offers),
    Step("done", enter=finish),
))
