"""Commands that work anywhere on the path: start, resume, pause, stop, status."""

from __future__ import annotations

from bot.flow import End, Goto, Transition, Turn
from flows.path.completion import held_task_of
from flows.path.content import PathContent
from flows.path.feedback import wants_motive
from flows.path.first_task import give_back
from flows.path.progress import (
    MORE_INVOLVED_AT,
    STAGES,
    chosen_project,
    chosen_workshop,
    no_progress_expected,
    path_of,
    stage,
    stage_note,
    task_elsewhere,
    workshop_index,
)


async def start(turn: Turn) -> Transition:
    origin = turn.content.of(PathContent).project_for_room(turn.room.network, turn.room.name,
                                                         turn.room.id)
    path = path_of(turn)
    turn.data.pop("paused", None)
    path.left = False
    stopped_at, path.stopped_at = path.stopped_at, ""
    if origin is not None:
        path.origin = origin.id
    if turn.input.args.strip().lower() == "over":
        path.discovery = None
        turn.event("restarted")
        return Goto("welcome", flow="discovery")
    if origin is not None and task_elsewhere(turn, origin.id):
        path.switch_to = origin.id  # in another project's channel, holding a task: ask
        return Goto("switch", flow="first_task")
    same_project = origin is None or origin.id == path.project
    if turn.flow is not None and turn.step is not None and same_project:
        turn.say(turn.t("Welcome back! Picking up where you left off."))
        return Goto(turn.step, flow=turn.flow)
    if turn.flow is None and stopped_at:  # back after !stop
        if not same_project and origin is not None:  # in another project's channel: ask
            path.stopped_at, path.switch_to = stopped_at, origin.id
            return Goto("switch", flow="first_task")
        flow, _, step = stopped_at.partition(":")
        turn.event("restarted_after_stop", flow=flow, step=step)
        turn.say(turn.t("Welcome back! Picking up where you stopped."))
        return Goto(step, flow=flow)
    turn.event("started", origin=origin.id if origin else "")
    return Goto("motive" if wants_motive(turn) else "welcome", flow="discovery")


def can_pause(turn: Turn) -> bool:
    return turn.flow is not None and not turn.data.get("paused")


def can_resume(turn: Turn) -> bool:
    return turn.flow is not None and bool(turn.data.get("paused"))


async def resume(turn: Turn) -> Transition:
    if turn.flow is None or turn.step is None:
        turn.say(turn.t("There's nothing to resume. Type !start to begin."))
        return None
    turn.data.pop("paused", None)
    turn.say(turn.t("Welcome back! Here's where you were."))
    return Goto(turn.step, flow=turn.flow)


async def pause(turn: Turn) -> Transition:
    if turn.flow is None:
        turn.say(turn.t("There's nothing to pause. Type !start to begin."))
        return None
    turn.data["paused"] = True
    no_progress_expected(turn)
    turn.event("paused", flow=turn.flow, step=turn.step)
    turn.data.pop("choices", None)
    turn.say(turn.t("Paused. Everything is saved: type !resume (or !start) whenever you're "
                    "ready, and you'll continue from exactly this point."))
    return None


async def stop(turn: Turn) -> Transition:
    """`!stop`: off the path. A reserved task is given back (a task held by someone who left
    blocks others); `!start` later picks up at the step they stopped at, and offers that task
    again first if nobody has taken it meanwhile."""
    turn.event("stopped", flow=turn.flow or "", step=turn.step or "")
    no_progress_expected(turn)
    turn.data.pop("paused", None)
    path = path_of(turn)
    path.left = True  # no event invites either, until they come back
    if turn.flow is not None and turn.step is not None:
        path.stopped_at = f"{turn.flow}:{turn.step}"
    lines = [turn.t("You've left the guided path, and I won't send you event invites.")]
    if path.task:
        path.gave_back = path.task
        title = await give_back(turn, "stopped")
        if turn.flow == "first_task":
            path.stopped_at = "first_task:offer"
        lines.append(turn.t("I've given back your task \"{title}\" so that someone else can "
                            "take it meanwhile.", title=title))
    if path.stopped_at:
        lines.append(turn.t("Your progress is kept: type !start any time to continue from "
                            "where you stopped (with the same task if it is still free).")
                     if path.gave_back else
                     turn.t("Your progress is kept: type !start any time to continue from "
                            "where you stopped."))
    else:
        lines.append(turn.t("Type !start any time to begin."))
    turn.say(" ".join(lines))
    return End()


async def status(turn: Turn) -> Transition:
    path = path_of(turn)
    current = stage(path, turn.content)
    project = chosen_project(turn)
    workshop = chosen_workshop(turn)
    details = ["", "", "", "", ""]
    if project is not None:
        details[0] = project.name
    if workshop is not None:
        index = workshop_index(path, workshop.id)
        details[1] = (turn.t("{title}, done", title=workshop.title) if current > 1 else
                      turn.t("{title}, step {number} of {count}", title=workshop.title,
                             number=index + 1, count=len(workshop.steps)))
        if workshop.id in path.sessions:
            details[1] += "; " + turn.t("live session attended")
    tasks_done = path.tasks_done
    if tasks_done:
        details[2] = turn.t("done")
        details[3] = turn.tn("{n} task done", "{n} tasks done", tasks_done)
    if path.task:
        found = await held_task_of(turn, path.task)
        working = turn.t("working on \"{title}\"", title=found[1].title) if (
            found is not None) else turn.t("working on {task}", task=path.task)
        if found is not None and (project is None or found[0].id != project.id):
            working += f" ({found[0].name})"
        at = 3 if tasks_done else 2
        details[at] = f"{details[at]}; {working}" if details[at] else working
    lines = [turn.t("Your path:")]
    for index, (name, note) in enumerate(_stage_rows(turn)):
        mark = "x" if index < current else (">" if index == current else " ")
        detail = f": {details[index]}" if details[index] else ""
        lines.append(f"  [{mark}] {index + 1}. {name}{detail}")
        lines.append(note)
    lines.append("")
    lines.append(_next_hint(turn, current))
    turn.say("\n".join(lines))
    return None


def _stage_rows(turn: Turn) -> tuple[tuple[str, str], ...]:
    """Each stage's title and its note's line as !status lists them: made of the content
    and the language alone, so worded once per content version."""
    tr = turn.translator
    paths = turn.content.of(PathContent)
    found = paths.stage_rows.get(tr)
    if found is None:
        found = paths.stage_rows[tr] = tuple(
            (tr.local(text.title), f"        {stage_note(turn.content, index, tr)}")
            for index, text in enumerate(paths.stages))
    return found


def next_hint(turn: Turn) -> str:
    """What the person should do next ("Next: ..."), as !status ends with it."""
    return _next_hint(turn, stage(path_of(turn), turn.content))


def _next_hint(turn: Turn, current: int) -> str:
    if turn.data.get("paused"):
        return turn.t("You're paused: type !resume to continue.")
    if turn.flow is None and path_of(turn).stopped_at:
        return turn.t("You've left the guided path: type !start to continue where you stopped.")
    if current == 0:
        return turn.t("Next: type !start to find your project.") if turn.flow is None else (
            turn.t("Next: answer the question above to find your project."))
    if current == 1:
        return turn.t("Next: finish the workshop (type !resume to see your current step).")
    if current == 2 and not path_of(turn).task:
        return turn.t("Next: type !task to get your first task.")
    if path_of(turn).task:
        return turn.t("Next: finish your task and type !done.")
    if current == 3:
        left = MORE_INVOLVED_AT - path_of(turn).tasks_done
        return turn.t("Next: type !task for another task ({left} more to reach stage 5, "
                      "{stage}).", left=left, stage=turn.t(STAGES[4]))
    events = turn.catalog is not None and "events" in turn.catalog
    return (turn.t("Next: type !task for another task, or !events to meet the community.")
            if events else turn.t("Next: type !task for another task."))
