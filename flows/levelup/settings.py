"""The [levelup] section: when someone is invited to mentor their project."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from bot.config import FeatureSettings


class LevelupConfig(FeatureSettings):
    table: ClassVar[str] = "levelup"
    enabled: bool = True
    # Tasks finished after the first one before the invitation: 2 means three tasks in all.
    more_tasks: Annotated[int, Field(ge=0, le=100)] = 2
    invites_per_tick: Annotated[int, Field(ge=1, le=1000)] = 50

    @property
    def tasks_needed(self) -> int:
        return 1 + self.more_tasks
