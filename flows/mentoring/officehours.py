"""Office hours such as "mon-fri 09:00-17:00, sat 10:00-12:00", in a person's own time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, TranslatableError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEGMENT = re.compile(r"^(?:(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+)?"
                      r"(?P<h1>\d{1,2}):(?P<m1>\d{2})-(?P<h2>\d{1,2}):(?P<m2>\d{2})$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after midnight
    end: int  # exclusive; may be 24 * 60


@dataclass(frozen=True)
class OfficeHours:
    windows: tuple[Window, ...]  # empty: always open
    zone: ZoneInfo

    @property
    def always(self) -> bool:
        return not self.windows

    def is_open(self, when: datetime) -> bool:
        if self.always:
            return True
        local = when.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(local.weekday() in w.days and w.start <= minute < w.end for w in self.windows)

    def add_open_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when `duration` of open time has passed after `start`."""
        if self.always:
            return start + duration
        left = duration
        cursor = start.astimezone(self.zone)
        for _ in range(14 * 24 * 60 // 15 + 2):  # at most two weeks of quarter-hour steps
            day = cursor.replace(hour=0, minute=0, second=0, microsecond=0)
            opens = [(day + timedelta(minutes=w.start), day + timedelta(minutes=w.end))
                     for w in self.windows if cursor.weekday() in w.days]
            for begin, end in sorted(opens):
                if end <= cursor:
                    continue
                begin = max(begin, cursor)
                if end - begin >= left:
                    return (begin + left).astimezone(UTC)
                left -= end - begin
                cursor = end
            cursor = day + timedelta(days=1)
            cursor = cursor.replace(tzinfo=self.zone)
        return (start + duration).astimezone(UTC)  # hours too sparse to count: plain time


def _days(first: str | None, last: str | None) -> frozenset[int]:
    if first is None:
        return frozenset(range(7))
    if first not in DAYS or (last is not None and last not in DAYS):
        raise TranslatableError(N_("unknown day in {days}; use mon..sun"),
                                days=f"{first}{'-' + last if last else ''}")
    a = DAYS.index(first)
    b = DAYS.index(last) if last else a
    return frozenset((a + n) % 7 for n in range((b - a) % 7 + 1))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TranslatableError(N_("unknown time zone {name}; use a name like Europe/Berlin"),
                                name=repr(name)) from None


def parse_hours(text: str, timezone: str = "UTC") -> OfficeHours:
    """Parse office hours; "always" (or empty) means always available."""
    tz = zone(timezone)
    spec = text.strip().lower()
    if spec in ("", "always"):
        return OfficeHours((), tz)
    windows = []
    for segment in (s.strip() for s in spec.split(",")):
        match = _SEGMENT.match(segment)
        if match is None:
            raise TranslatableError(N_('{segment} is not like "mon-fri 09:00-17:00"'),
                                    segment=repr(segment))
        start = int(match["h1"]) * 60 + int(match["m1"])
        end = int(match["h2"]) * 60 + int(match["m2"])
        if not (0 <= start < end <= 24 * 60) or int(match["m1"]) > 59 or int(match["m2"]) > 59:
            raise TranslatableError(N_("{segment}: the end must come after the start, within "
                                       "one day"), segment=repr(segment))
        windows.append(Window(_days(match["d1"], match["d2"]), start, end))
    return OfficeHours(tuple(windows), tz)
