"""What other features may use of the growth path (and nothing else in flows/path): its
content's projects, where a person is along it, and the records of task claims."""

from __future__ import annotations

from flows.path.content import PathContent, Project
from flows.path.progress import (
    channel_list,
    chosen_project,
    chosen_workshop,
    path_of,
    progress_rank,
    stage,
    workshop_index,
)
from flows.path.records import EndClaim, TaskClaim
from flows.path.state import PathState

__all__ = [
    "EndClaim",
    "PathContent",
    "PathState",
    "Project",
    "TaskClaim",
    "channel_list",
    "chosen_project",
    "chosen_workshop",
    "path_of",
    "progress_rank",
    "stage",
    "workshop_index",
]
