"""The tracker feature's records and read types: cached live tasks and each source's
refresh standing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.records import Record


@dataclass(frozen=True)
class LiveTask:
    """One open task read from a tracker, as cached. `task_id` is what claims name:
    "<project>-<source>-<number>" (e.g. pagebot-github-42)."""

    task_id: str
    source_key: str  # "<project>/<source id>"
    project_id: str
    native_id: str  # the tracker's own: "42" (GitHub, GitLab iid), "T42" (Phabricator)
    title: str
    url: str
    skills: tuple[str, ...]
    position: int  # the tracker's order within its source


@dataclass(frozen=True)
class SourceStanding:
    """What `wayfinder tasks` shows of a source: when it was last read, and why not."""

    source_key: str
    project_id: str
    kind: str
    refreshed_at: datetime | None  # the last good read
    tried_at: datetime | None  # the last attempt, good or not
    error: str  # why the last attempt failed ("" when it did not)
    next_at: datetime | None  # when it is read again (a rate limit's reset included)
    open_tasks: int
    etag: str = ""


@dataclass(frozen=True)
class TaskGone(Record):
    """At hand-off the tracker said the task is closed or taken: not offered again until a
    refresh says it is open and free."""

    task_id: str
    reason: str  # "closed" or "assigned"
    at: datetime
