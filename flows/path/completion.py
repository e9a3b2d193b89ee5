"""A first task finished, or waiting for review: what other features (the forge's checks) may
do to the task a person holds, through flows/path/api.py."""

from __future__ import annotations

from bot.flow import Turn
from bot.i18n import N_
from flows.path.certificates import announce, issue
from flows.path.content import PathContent, Project, Task
from flows.path.feedback import offer_rating
from flows.path.progress import find_task, no_progress_expected, path_of
from flows.path.records import Certificate, EndClaim, TouchClaim
from flows.tracker.api import LiveTask, held_task


def live_as_task(task: LiveTask | None) -> Task | None:
    """A task read from the project's tracker (flows/tracker), as the path shows it."""
    return None if task is None else Task(id=task.task_id, title=task.title, url=task.url,
                                          skills=task.skills)


async def held_task_of(turn: Turn, task_id: str) -> tuple[Project, Task] | None:
    """A task someone holds, from the content or a project's tracker, with its project."""
    found = find_task(turn.content, task_id)
    if found is not None:
        return found
    live = await held_task(turn, task_id)
    project = turn.content.of(PathContent).projects.get(live.project_id) if live else None
    task = live_as_task(live)
    return (project, task) if project is not None and task is not None else None


async def reserved_task(turn: Turn) -> tuple[Project, Task] | None:
    """The task reserved for the person (static or live) with its project, if still known."""
    held = path_of(turn).task
    return await held_task_of(turn, held) if held else None


def waiting_for_review(turn: Turn) -> None:
    """The change is submitted and in review: the claim is kept alive and no nudge is due
    (a review may take longer than anyone's idle limit)."""
    turn.record(TouchClaim(turn.person_id, turn.now))
    no_progress_expected(turn)


def finish_task(turn: Turn, project: Project, task: Task,
                evidence: str = "") -> Certificate | None:
    """The reserved task is done: the claim closes as done and the person is past step 3; the
    first one earns the first-task certificate, returned (to be announced with
    `task_finished`)."""
    path = path_of(turn)
    turn.record(EndClaim(turn.person_id, task.id, "done", turn.now))
    turn.event("task_done", task=task.id, **({"change": evidence} if evidence else {}))
    first = path.tasks_done == 0
    path.tasks_done += 1
    if task.id not in path.finished_tasks:
        path.finished_tasks.append(task.id)
    path.task = ""
    no_progress_expected(turn)
    if not first:
        return None
    return issue(turn, f"first-task:{task.id}",
                 f"First task for {project.name}: {task.title}")


async def task_finished(turn: Turn, project: Project, task: Task,
                        certificate: Certificate | None) -> None:
    """After the words that a task is done: its certificate (if it earned one) and the offer
    to rate it."""
    offer = offer_rating(turn, f"task:{task.id}", project.id, N_("your task"))
    if certificate is not None:
        await announce(turn, certificate, "", kind="first-task", then=offer)
    elif offer:
        turn.say(offer)
