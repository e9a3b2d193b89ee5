"""The path's keys in [flows]."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import Field

from bot.config import FeatureSettings
from bot.durations import parse_duration
from bot.fields import Duration


class PathConfig(FeatureSettings):
    table: ClassVar[str] = "flows"
    claim_idle_after: Duration = "14d"  # release an idle task claim
    suggestions_per_page: Annotated[int, Field(ge=1, le=10)] = 3
    # At a first !start: "what brings you here?" (choices or own words, skippable). Off
    # unless an organizer turns it on (config.example.toml does).
    ask_motive: bool = False

    @property
    def claim_idle(self) -> timedelta:
        return parse_duration(self.claim_idle_after)
