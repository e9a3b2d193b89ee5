"""What other features may use of the growth path (and nothing else in flows/path): its
content's projects, where a person is along it, the records of task claims, and what may be
done to the task a person holds (finished, or waiting for review)."""

from __future__ import annotations

from flows.path.commands import next_hint
from flows.path.completion import finish_task, reserved_task, waiting_for_review
from flows.path.content import PathContent, Project, Task
from flows.path.progress import (
    MORE_INVOLVED_AT,
    STAGES,
    channel_list,
    chosen_project,
    chosen_workshop,
    find_task,
    path_of,
    progress_rank,
    stage,
    workshop_index,
)
from flows.path.records import EndClaim, TaskClaim
from flows.path.state import PathState

__all__ = [
    "MORE_INVOLVED_AT",
    "STAGES",
    "EndClaim",
    "PathContent",
    "PathState",
    "Project",
    "Task",
    "TaskClaim",
    "channel_list",
    "chosen_project",
    "chosen_workshop",
    "finish_task",
    "find_task",
    "next_hint",
    "path_of",
    "progress_rank",
    "reserved_task",
    "stage",
    "waiting_for_review",
    "workshop_index",
]
