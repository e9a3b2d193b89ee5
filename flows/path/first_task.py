"""Steps 3 and 4: a first easy task with a mentor, then more tasks."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.flow import Due, Flow, Goto, Handler, Step, Transition, Turn
from bot.i18n import N_
from bot.model import Choice
from bot.ports import Reads
from flows.forge.api import done_with_link
from flows.mentoring.api import MentoringConfig
from flows.path.completion import held_task_of, live_as_task
from flows.path.content import PathContent, Project, Task
from flows.path.discovery import pick_project
from flows.path.feedback import offer_rating
from flows.path.progress import (
    channel_list,
    chosen_project,
    contact_lines,
    expect_progress,
    no_progress_expected,
    no_project_text,
    path_of,
    profile,
    stage_news,
    where_to_ask,
)
from flows.path.reads import reads_of
from flows.path.records import ClaimTask, EndClaim, TaskClaim, TaskHandOuts, TouchClaim
from flows.path.settings import PathConfig
from flows.tracker.api import hand_off


def pick_task(project: Project, hand_outs: TaskHandOuts, finished: set[str],
              skills: list[str], prefer: str = "") -> Task | None:
    """The free task that best matches the person's skills and languages. Free: nobody holds
    it, they have not finished it themselves, and nobody has finished it, unless the content
    says it is `repeatable`. `prefer` (the task they gave back at !stop) comes first while
    it is free."""
    wanted = {s.lower() for s in skills}
    free = [t for t in project.tasks if t.id not in hand_outs.claimed and t.id not in finished
            and (t.repeatable or t.id not in hand_outs.done)]
    if not free:
        return None
    again = next((t for t in free if t.id == prefer), None)
    if again is not None:
        return again
    return max(free, key=lambda t: (len(wanted & {s.lower() for s in t.skills}),
                                    -project.tasks.index(t)))


def task_text(turn: Turn, project: Project, task: Task) -> str:
    lines = [turn.t("Your task: {title}", title=task.title)]
    if task.url:
        lines.append(turn.t("Details: {url}", url=task.url))
    if task.estimate:
        lines.append(turn.t("Usually takes about {estimate}.", estimate=task.estimate))
    lines += contact_lines(turn, project)
    lines.append(turn.t("It's reserved for you. Type !done when your change is submitted, or "
                        "!release to give it back."))
    return "\n".join(lines)


async def held_title(turn: Turn) -> str:
    """The title of the task the person holds (its id if no longer listed anywhere)."""
    held = path_of(turn).task
    found = await held_task_of(turn, held) if held else None
    return found[1].title if found is not None else held


async def give_back(turn: Turn, reason: str) -> str:
    """End the person's claim on their task (released: someone else may take it); returns
    its title."""
    path = path_of(turn)
    title = await held_title(turn)
    turn.record(EndClaim(turn.person_id, path.task, "released", turn.now))
    turn.event("task_released", task=path.task, reason=reason)
    path.task = ""
    no_progress_expected(turn)
    return title


def _release_removed(turn: Turn, task_id: str, where: str) -> None:
    """The reserved task left the content (reloaded without it): end the claim, say so."""
    turn.record(EndClaim(turn.person_id, task_id, "removed", turn.now))
    turn.event("task_released", task=task_id, reason="removed")
    path_of(turn).task = ""
    no_progress_expected(turn)
    turn.say(turn.t("The task you had reserved ({task}) is no longer listed{where}: the "
                    "organizers removed it, so I've released it.", task=task_id, where=where))


async def offer(turn: Turn) -> Transition:
    project = chosen_project(turn)
    path = path_of(turn)
    held = path.task
    # The person's own claim lives in their state too (every change to it goes through their
    # turns, or the idle scan under their lock), so only other people's claims need a read.
    if held:
        found = await held_task_of(turn, held)
        if found is None:
            _release_removed(turn, held, " " + turn.t("for {name}", name=project.name)
                             if project else "")
        elif project is not None and found[0].id != project.id:
            path.switch_to = project.id  # their project changed under the task: ask
            return Goto("switch")
        else:
            held_project, task = found
            expect_progress(turn, f"task:{task.id}", turn.settings_of(MentoringConfig).stuck)
            turn.say(task_text(turn, held_project, task))
            return Goto("working")
    if project is None:
        turn.say(no_project_text(turn))
        return None
    prof = profile(path)
    hand_outs = await reads_of(turn.reads).task_hand_outs(project.id)
    wanted = [*prof["skills"], *prof["languages"]]
    finished = set(path.finished_tasks)
    # Live tasks from the project's trackers first (checked there), the static ones after.
    picked = live_as_task(await hand_off(turn, project.id,
                                  hand_outs.claimed | hand_outs.done | finished, wanted)
                   ) or pick_task(project, hand_outs, finished, wanted, prefer=path.gave_back)
    path.gave_back = ""
    if picked is None:
        turn.say(turn.t("All of {name}'s first tasks are taken or done right now. Ask in "
                        "{channels} for more, or type !task later to try again.",
                        name=project.name,
                        channels=channel_list(project) or turn.t("the project channel")))
        return Goto("involved")
    turn.record(ClaimTask(picked.id, project.id, turn.person_id, turn.now))
    turn.event("task_claimed", task=picked.id, project=project.id)
    path.task = picked.id
    path.task_project = project.id
    expect_progress(turn, f"task:{picked.id}", turn.settings_of(MentoringConfig).stuck)
    turn.say(turn.t("Here is a first task picked for you.") + "\n" +
             task_text(turn, project, picked))
    return Goto("working")


async def ask_switch(turn: Turn) -> Transition:
    """A person turned to another project while holding a task (keep it, or give it back and
    switch?), or while away after !stop (continue where they stopped, or start the other?)."""
    path = path_of(turn)
    target = turn.content.of(PathContent).projects.get(path.switch_to)
    found = await held_task_of(turn, path.task) if path.task else None
    current = chosen_project(turn)
    if target is None:
        path.switch_to = ""
        return Goto("offer")
    if found is not None and found[0].id != target.id:
        held_project, task = found
        turn.say(turn.t("You have a {held} task reserved: \"{title}\". You can hold one task "
                        "at a time. Keep it and stay with {held}, or give it back and switch to "
                        "{target}?", held=held_project.name, title=task.title,
                        target=target.name),
                 [Choice("keep", turn.t("Keep my {held} task", held=held_project.name)),
                  Choice("switch", turn.t("Give it back and switch to {target}",
                                          target=target.name))])
        return None
    if not path.task and path.stopped_at and current is not None and current.id != target.id:
        turn.say(turn.t("Welcome back! You stopped along {current}'s path. Continue where you "
                        "stopped, or start with {target}?", current=current.name,
                        target=target.name),
                 [Choice("keep", turn.t("Continue with {current}", current=current.name)),
                  Choice("switch", turn.t("Start with {target}", target=target.name))])
        return None
    path.switch_to = ""  # nothing to choose between any more
    return pick_project(turn, target.id)


async def switch_reply(turn: Turn) -> Transition:
    path = path_of(turn)
    said = turn.choice or turn.input.text.strip().lower()
    target = path.switch_to
    if said not in ("keep", "switch") and (path.task or path.stopped_at):
        turn.say(turn.t("Please pick 1 to keep your task, or 2 to give it back and switch.")
                 if path.task else turn.t("Please pick 1 to continue where you stopped, or 2 "
                                          "to start the other project."))
        return None
    path.switch_to = ""
    if said == "keep" and path.task:
        found = await held_task_of(turn, path.task)
        if found is not None:
            path.project = found[0].id
        title = await held_title(turn)
        turn.say(turn.t("Kept: \"{title}\" stays reserved for you, and you stay with {name}.",
                        title=title, name=found[0].name) if found else
                 turn.t("Kept: \"{title}\" stays reserved for you.", title=title))
        return Goto("offer")
    stopped_at, path.stopped_at = path.stopped_at, ""
    if said == "keep" and stopped_at:
        flow, _, step = stopped_at.partition(":")
        turn.say(turn.t("Picking up where you stopped."))
        return Goto(step, flow=flow)
    if path.task:
        title = await give_back(turn, "switched")
        turn.say(turn.t("I've given back \"{title}\": someone else can take it now.",
                        title=title))
    return pick_project(turn, target) if target in turn.content.of(
        PathContent).projects else Goto("offer")


async def working(turn: Turn) -> Transition:
    return None


async def working_reply(turn: Turn) -> Transition:
    path = path_of(turn)
    task_id = path.task
    if not task_id:
        turn.say(turn.t("You have no task reserved at the moment. Type !task for one."))
        return Goto("involved")
    if turn.input.command == "done" and turn.input.args.strip():
        return await done_with_link(turn)  # `!done LINK`: checked with the forge
    if turn.input.command == "done":
        no_progress_expected(turn)
        title = await held_title(turn)
        turn.record(EndClaim(turn.person_id, task_id, "done", turn.now))
        turn.event("task_done", task=task_id)
        path.tasks_done += 1
        path.finished_tasks.append(task_id)
        path.task = ""
        offer = offer_rating(turn, f"task:{task_id}", path.task_project or path.project,
                             N_("your task"))
        turn.say((turn.t("Well done, that's a real contribution! I've marked \"{title}\" as "
                         "done, and it won't be handed to anyone else. Your change is reviewed "
                         "by the project's reviewers where you submitted it. If you'd like a "
                         "mentor to look at it, type !stuck and say so.", title=title) +
                  f"\n{stage_news(turn)}\n{offer}").rstrip())
        return Goto("involved")
    if turn.input.command == "release":
        title = await give_back(turn, "asked")
        turn.say(turn.t("Released \"{title}\": someone else can take it now. Type !task when "
                        "you want another.", title=title))
        return Goto("involved")
    turn.record(TouchClaim(turn.person_id, turn.now))
    turn.say(where_to_ask(turn) + "\n" + turn.t("When your change is submitted, type !done; "
                                               "!release gives the task back."))
    return None


async def involved(turn: Turn) -> Transition:
    return None


async def involved_reply(turn: Turn) -> Transition:
    turn.say(where_to_ask(turn) + "\n" + turn.t("Type !task for a new task, or !status to see "
                                               "your progress."))
    return None


def can_task(turn: Turn) -> bool:
    """!task does something once a project is chosen (or a task is still held)."""
    return chosen_project(turn) is not None or bool(path_of(turn).task)


async def task_command(turn: Turn) -> Transition:
    """`!task`: show the reserved task, or reserve a new one."""
    if chosen_project(turn) is None and not path_of(turn).task:
        turn.say(no_project_text(turn))
        return None
    turn.data.pop("paused", None)
    return Goto("offer", flow="first_task")


async def release_command(turn: Turn) -> Transition:
    """`!release` away from the task step (there, the step's own word gives the task back)."""
    if path_of(turn).task:
        turn.say(turn.t("Your task is still reserved for you. To give it back, type !release "
                        "on its own after !resume.") if turn.data.get("paused") else
                 turn.t("Your task is still reserved for you. To give it back, type !release "
                        "on its own."))
    elif turn.input.args.strip():  # a mentor's old `!release CODE`
        turn.say(turn.t("To hand a case back, use !handback CODE."))
    else:
        turn.say(turn.t("You have no task reserved at the moment. Type !task for one."))
    return None


FLOW = Flow("first_task", steps=(
    Step("offer", enter=offer),
    Step("working", enter=working, reply=working_reply, commands=("done", "release")),
    Step("involved", enter=involved, reply=involved_reply),
    Step("switch", enter=ask_switch, reply=switch_reply),
))


def _release_idle(claim: TaskClaim) -> Handler:
    async def release(turn: Turn) -> Transition:
        current = await reads_of(turn.reads).active_claim(claim.person_id)
        if (path_of(turn).task != claim.task_id or current is None
                or current.last_activity_at != claim.last_activity_at):
            return None  # done, released or touched while the scan waited for the lock
        title = await held_title(turn)
        turn.record(EndClaim(claim.person_id, claim.task_id, "idle", turn.now))
        turn.event("task_released", task=claim.task_id, reason="idle")
        path_of(turn).task = ""
        turn.say(turn.t("I've released the task \"{title}\" for you, since it has been quiet "
                        "for a while, so someone else can pick it up. No worries: type !task "
                        "whenever you'd like a new one.", title=title))
        return None

    return release


async def idle_claims(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Task claims nobody touched for `flows.claim_idle_after` are released, once."""
    claims = await reads_of(reads).idle_claims(now - config.settings_of(PathConfig).claim_idle)
    return [Due(c.person_id, f"idle:{c.person_id}:{c.task_id}:{c.last_activity_at.isoformat()}",
                _release_idle(c)) for c in claims]
