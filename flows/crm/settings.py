"""[reports]: what the program's reports count (README, "For organizers")."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bot.config import FeatureSettings


class ReportsConfig(FeatureSettings):
    table: ClassVar[str] = "reports"
    # The travel-support list: people who made it through stages 1..N of the path (the seed's
    # rule is 1-4: finished MORE_INVOLVED_AT tasks). 1: chose a project, 2: finished the
    # workshop, 3: finished a first task, 4: finished MORE_INVOLVED_AT tasks.
    travel_through_stage: int = Field(default=4, ge=1, le=4)
