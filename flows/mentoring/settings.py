"""The [mentoring] section."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from bot.config import FeatureSettings
from bot.durations import parse_duration
from bot.fields import Duration


class MentoringConfig(FeatureSettings):
    table: ClassVar[str] = "mentoring"
    stuck_after: Duration = "48h"  # no progress on a step or task this long: offer help, once
    escalate_after: Duration = "2h"  # unclaimed this long (in the mentor's office hours): next

    @property
    def stuck(self) -> timedelta:
        return parse_duration(self.stuck_after)

    @property
    def escalate(self) -> timedelta:
        return parse_duration(self.escalate_after)
