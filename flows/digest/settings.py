"""The [digest] section: whether the weekly digest goes out, and when."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from bot.config import FeatureSettings
from bot.fields import ZoneName

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DigestConfig(FeatureSettings):
    table: ClassVar[str] = "digest"
    enabled: bool = False  # off by default: mentors and organizers opt their program in
    day: Day = "mon"
    hour: Annotated[int, Field(ge=0, le=23)] = 9
    timezone: ZoneName = "UTC"  # the day and hour are read in this time zone
    events_ahead_days: Annotated[int, Field(ge=1, le=90)] = 14
