"""What other features may use of the tracker (and nothing else in flows/tracker): a
project's live tasks at hand-off, checked with the tracker first.

The path hands tasks out (flows/path/first_task.py); for a project with task sources it asks
`hand_off` for the best cached task, and falls back to its static [[tasks]] when this gives
none (no sources, nothing cached, nothing left open)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection

from bot.flow import Turn
from bot.http import SHARED_HTTP
from flows.tracker.content import Located, TrackerContent
from flows.tracker.reads import reads_of
from flows.tracker.records import LiveTask, TaskGone
from flows.tracker.settings import TrackerConfig
from flows.tracker.sources import SourceError, check

log = logging.getLogger(__name__)

MAX_GONE = 5  # tasks found closed in one hand-off before the cache is left for a refresh


async def _verdict(located: Located, task: LiveTask, turn: Turn, seconds: float) -> str | None:
    """"" open and free, "closed" or "assigned"; None: the tracker could not tell in time."""
    client = await SHARED_HTTP.acquire()
    try:
        async with asyncio.timeout(seconds):
            return await check(client, located, task.native_id, turn.now, seconds)
    except (SourceError, TimeoutError) as exc:
        log.info("task %s: not checked at hand-off (%s); the cache is trusted", task.task_id,
                 exc.why if isinstance(exc, SourceError) else "too slow")
        return None
    finally:
        await SHARED_HTTP.release()


async def hand_off(turn: Turn, project_id: str, skip: Collection[str],
                   wanted: Collection[str]) -> LiveTask | None:
    """The best cached live task of the project not in `skip` (the most of the `wanted` skills
    and languages, then the trackers' order), checked with its tracker to be
    still open and unassigned; one found closed or taken is marked so (TaskGone, with the
    turn) and the next is tried. A tracker that cannot answer within handoff_check_seconds
    (all checks together) does not hold the hand-off up: the cached task is given."""
    try:
        declared = turn.content.of(TrackerContent).sources.get(project_id, ())
    except LookupError:  # content loaded without this feature's part
        return None
    sources = {s.key: s for s in declared}
    if not sources:
        return None
    # The best matches by skill, in the trackers' order: as many as one hand-off may try.
    # Of the tasks to skip (everyone's held and finished ones), only this project's live ones
    # can be among the rows: the query binds no more than those.
    mine = tuple(f"{project_id}-{s.source.name}-" for s in sources.values())
    best = await reads_of(turn.reads).best_live_tasks(
        project_id, list(sources), wanted, [t for t in skip if t.startswith(mine)], MAX_GONE)
    budget = turn.settings_of(TrackerConfig).handoff_check_seconds
    deadline = time.monotonic() + budget
    for task in best:
        left = deadline - time.monotonic()
        verdict = await _verdict(sources[task.source_key], task, turn, left) if left > 0 else None
        if not verdict:
            return task
        turn.record(TaskGone(task.task_id, verdict, turn.now))
        turn.event("live_task_gone", task=task.task_id, reason=verdict)
    return None


async def held_task(turn: Turn, task_id: str) -> LiveTask | None:
    """A live task someone holds (even if its tracker has closed it since)."""
    return await reads_of(turn.reads).live_task(task_id)


__all__ = ["LiveTask", "hand_off", "held_task"]
