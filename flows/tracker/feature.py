"""Live task sources: a project's first tasks read from its trackers, cached, refreshed in the
background and checked at hand-off (the path hands them out through flows/tracker/api.py)."""

from __future__ import annotations

from bot.feature import Feature
from flows.tracker import cli, content
from flows.tracker.reads import TrackerReads
from flows.tracker.service import TrackerService
from flows.tracker.settings import TrackerConfig

FEATURE = Feature(
    name="tracker",
    settings=TrackerConfig,
    services=TrackerService,
    cli=cli.register,
    reads=TrackerReads,
    content=content.PART,
)
