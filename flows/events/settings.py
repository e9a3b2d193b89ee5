"""The [events] section."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from bot.config import FeatureSettings
from bot.fields import Duration, ZoneName
from flows.events.quiet import QuietHours, QuietWindow


class EventsConfig(FeatureSettings):
    table: ClassVar[str] = "events"
    quiet_hours: QuietWindow = "21:00-09:00"  # recipient's local time; empty: none. Invites wait.
    default_timezone: ZoneName = "UTC"  # for people whose region names none
    reminders: tuple[Duration, ...] = ("1d",)  # before an event, to those who said yes
    fan_out_batch: Annotated[int, Field(ge=1, le=20_000)] = 2000

    @property
    def quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours)
