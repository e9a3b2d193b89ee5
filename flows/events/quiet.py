"""Quiet hours: the part of a recipient's night when bulk messages wait, in their local time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator

from bot.fields import zone

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window such as 22:00-08:00 (it may cross midnight); start == end: never."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """"22:00-08:00"; empty: no quiet hours."""
        if not text.strip():
            return None
        match = _WINDOW.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a window; write it like 22:00-08:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"{text!r} has a time that does not exist")
        return cls(time(h1, m1), time(h2, m2))

    def _inside(self, clock: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def until(self, now: datetime, tz: str) -> datetime | None:
        """When the quiet time `now` falls into ends (UTC), or None if `now` is not quiet.

        Computed on the local calendar, so a night that crosses a DST change still ends at
        the local wall-clock time (08:00 is 08:00, whatever the UTC offset became)."""
        local = now.astimezone(zone(tz))
        if not self._inside(local.timetz().replace(tzinfo=None)):
            return None
        day = local.date()
        if local.time() >= self.end:  # before midnight: it ends tomorrow morning
            day += timedelta(days=1)
        end = datetime.combine(day, self.end, tzinfo=zone(tz))
        # A wall time skipped by a spring-forward gap normalises through UTC.
        return end.astimezone(UTC)


def _quiet_window(value: str) -> str:
    QuietHours.parse(value)
    return value


QuietWindow = Annotated[str, AfterValidator(_quiet_window)]  # "21:00-09:00"; empty: none
