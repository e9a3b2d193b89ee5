"""Steps 3 and 4: a first easy task with a mentor, then more tasks."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.flow import Due, Flow, Goto, Handler, Step, Transition, Turn
from bot.ports import Reads
from flows.mentoring.api import MentoringConfig
from flows.path.content import PathContent, Project, Task
from flows.path.progress import (
    channel_list,
    chosen_project,
    contact_lines,
    expect_progress,
    no_progress_expected,
    no_project_text,
    path_of,
    profile,
    where_to_ask,
)
from flows.path.reads import reads_of
from flows.path.records import ClaimTask, EndClaim, TaskClaim, TouchClaim
from flows.path.settings import PathConfig
from flows.tracker.api import LiveTask, hand_off, held_task


def pick_task(project: Project, taken: set[str], done: set[str],
              skills: list[str]) -> Task | None:
    """The free task that best matches the person's skills and languages."""
    wanted = {s.lower() for s in skills}
    free = [t for t in project.tasks if t.id not in taken and t.id not in done]
    if not free:
        return None
    return max(free, key=lambda t: (len(wanted & {s.lower() for s in t.skills}),
                                    -project.tasks.index(t)))


def _live(task: LiveTask | None) -> Task | None:
    """A task read from the project's tracker (flows/tracker), as the path shows it."""
    return None if task is None else Task(id=task.task_id, title=task.title, url=task.url,
                                          skills=task.skills)


def task_text(turn: Turn, project: Project, task: Task) -> str:
    lines = [f"Your task: {task.title}"]
    if task.url:
        lines.append(f"Details: {task.url}")
    if task.estimate:
        lines.append(f"Usually takes about {task.estimate}.")
    lines += contact_lines(turn, project)
    lines.append("It's reserved for you. Type !done when your change is submitted, or !release "
                 "to give it back.")
    return "\n".join(lines)


def _release_removed(turn: Turn, task_id: str, where: str) -> None:
    """The reserved task left the content (reloaded without it): end the claim, say so."""
    turn.record(EndClaim(turn.person_id, task_id, "removed", turn.now))
    turn.event("task_released", task=task_id, reason="removed")
    path_of(turn).task = ""
    no_progress_expected(turn)
    turn.say(f"The task you had reserved ({task_id}) is no longer listed{where}: the "
             "organizers removed it, so I've released it.")


async def offer(turn: Turn) -> Transition:
    project = chosen_project(turn)
    path = path_of(turn)
    held = path.task
    if project is None:
        if held:
            _release_removed(turn, held, "")
        turn.say(no_project_text(turn))
        return None
    # The person's own claim lives in their state too (every change to it goes through their
    # turns, or the idle scan under their lock), so only other people's claims need a read.
    if held:
        task = next((t for t in project.tasks if t.id == held), None) or _live(
            await held_task(turn, held))
        if task is not None:
            expect_progress(turn, f"task:{task.id}", turn.settings_of(MentoringConfig).stuck)
            turn.say(task_text(turn, project, task))
            return Goto("working")
        _release_removed(turn, held, f" for {project.name}")
    prof = profile(path)
    claimed = await reads_of(turn.reads).claimed_task_ids()
    wanted = [*prof["skills"], *prof["languages"]]
    # Live tasks from the project's trackers first (checked there), the static ones after.
    task = _live(await hand_off(turn, project.id, claimed | set(path.finished_tasks), wanted)
                 ) or pick_task(project, claimed, set(path.finished_tasks), wanted)
    if task is None:
        turn.say(f"All of {project.name}'s first tasks are taken or done right now. Ask in "
                 f"{channel_list(project) or 'the project channel'} for more, or type !task "
                 "later to try again.")
        return Goto("involved")
    turn.record(ClaimTask(task.id, project.id, turn.person_id, turn.now))
    turn.event("task_claimed", task=task.id, project=project.id)
    path.task = task.id
    expect_progress(turn, f"task:{task.id}", turn.settings_of(MentoringConfig).stuck)
    turn.say("Here is a first task picked for you.\n" + task_text(turn, project, task))
    return Goto("working")


async def working(turn: Turn) -> Transition:
    return None


async def working_reply(turn: Turn) -> Transition:
    path = path_of(turn)
    task_id = path.task
    if not task_id:
        turn.say("You have no task reserved at the moment. Type !task for one.")
        return Goto("involved")
    if turn.input.command in ("done", "release"):
        no_progress_expected(turn)
    if turn.input.command == "done":
        turn.record(EndClaim(turn.person_id, task_id, "done", turn.now))
        turn.event("task_done", task=task_id)
        path.tasks_done += 1
        path.finished_tasks.append(task_id)
        path.task = ""
        turn.say("Well done, that's a real contribution! A mentor will review it. You're now "
                 "on step 4, Get involved: type !task for another task, or !status to see "
                 "your progress.")
        return Goto("involved")
    if turn.input.command == "release":
        turn.record(EndClaim(turn.person_id, task_id, "released", turn.now))
        turn.event("task_released", task=task_id, reason="asked")
        path.task = ""
        turn.say("Released: someone else can take it now. Type !task when you want another.")
        return Goto("involved")
    turn.record(TouchClaim(turn.person_id, turn.now))
    turn.say(where_to_ask(turn) + "\nWhen your change is submitted, type !done; !release gives "
             "the task back.")
    return None


async def involved(turn: Turn) -> Transition:
    return None


async def involved_reply(turn: Turn) -> Transition:
    turn.say(where_to_ask(turn) + "\nType !task for a new task, or !status to see your "
             "progress.")
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
        turn.say("Your task is still reserved for you. To give it back, type !release on its "
                 "own" + (" after !resume." if turn.data.get("paused") else "."))
    elif turn.input.args.strip():  # a mentor's old `!release CODE`
        turn.say("To hand a case back, use !handback CODE.")
    else:
        turn.say("You have no task reserved at the moment. Type !task for one.")
    return None


FLOW = Flow("first_task", steps=(
    Step("offer", enter=offer),
    Step("working", enter=working, reply=working_reply, commands=("done", "release")),
    Step("involved", enter=involved, reply=involved_reply),
))


def _task_title(turn: Turn, claim: TaskClaim) -> str:
    project = turn.content.of(PathContent).projects.get(claim.project_id)
    task = next((t for t in project.tasks if t.id == claim.task_id), None) if project else None
    return task.title if task else claim.task_id


def _release_idle(claim: TaskClaim) -> Handler:
    async def release(turn: Turn) -> Transition:
        current = await reads_of(turn.reads).active_claim(claim.person_id)
        if (path_of(turn).task != claim.task_id or current is None
                or current.last_activity_at != claim.last_activity_at):
            return None  # done, released or touched while the scan waited for the lock
        turn.record(EndClaim(claim.person_id, claim.task_id, "idle", turn.now))
        turn.event("task_released", task=claim.task_id, reason="idle")
        path_of(turn).task = ""
        turn.say(f"I've released the task \"{_task_title(turn, claim)}\" for you, since it "
                 "has been quiet for a while, so someone else can pick it up. No worries: "
                 "type !task whenever you'd like a new one.")
        return None

    return release


async def idle_claims(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Task claims nobody touched for `flows.claim_idle_after` are released, once."""
    claims = await reads_of(reads).idle_claims(now - config.settings_of(PathConfig).claim_idle)
    return [Due(c.person_id, f"idle:{c.person_id}:{c.task_id}:{c.last_activity_at.isoformat()}",
                _release_idle(c)) for c in claims]
