"""The [tracker] section: how often task sources are read, and how long a hand-off waits."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import Field

from bot.config import FeatureSettings
from bot.durations import parse_duration
from bot.fields import Duration


class TrackerConfig(FeatureSettings):
    table: ClassVar[str] = "tracker"
    refresh_every: Duration = "30m"  # each source, give or take the jitter
    jitter: Annotated[float, Field(ge=0, le=0.5)] = 0.1  # a fraction of refresh_every
    retry_after: Duration = "5m"  # after a failure (a rate limit waits for its reset)
    request_seconds: Annotated[float, Field(gt=0, le=120)] = 15.0  # one request's deadline
    handoff_check_seconds: Annotated[float, Field(gt=0, le=30)] = 3.0  # else the cache is used
    max_tasks: Annotated[int, Field(ge=1, le=10_000)] = 2000  # per source, the rest left out

    @property
    def interval(self) -> timedelta:
        return parse_duration(self.refresh_every)

    @property
    def retry(self) -> timedelta:
        return parse_duration(self.retry_after)
