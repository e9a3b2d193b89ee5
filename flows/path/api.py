"""What other features may use of the growth path (and nothing else in flows/path): its
content's projects, where a person is along it, the records of task claims, and what may be
done to the task a person holds (finished, or waiting for review)."""

from __future__ import annotations

from bot.flow import Turn
from flows.path.completion import finish_task, reserved_task, task_finished, waiting_for_review
from flows.path.content import PathContent, Project, Task
from flows.path.progress import (
    MORE_INVOLVED_AT,
    STAGES,
    attend_session,
    channel_list,
    chosen_project,
    chosen_workshop,
    find_task,
    path_of,
    progress_rank,
    stage,
    stage_news,
    workshop_index,
)
from flows.path.records import EndClaim, TaskClaim
from flows.path.state import PathState


def next_hint(turn: Turn) -> str:
    """What the person should do next ("Next: ..."), as !status ends with it. (Imported when
    called: the path's commands import features that import this module.)"""
    from flows.path.commands import next_hint as hint

    return hint(turn)


__all__ = [
    "MORE_INVOLVED_AT",
    "STAGES",
    "EndClaim",
    "PathContent",
    "PathState",
    "Project",
    "Task",
    "TaskClaim",
    "attend_session",
    "channel_list",
    "chosen_project",
    "chosen_workshop",
    "find_task",
    "finish_task",
    "next_hint",
    "path_of",
    "progress_rank",
    "reserved_task",
    "stage",
    "stage_news",
    "task_finished",
    "waiting_for_review",
    "workshop_index",
]
