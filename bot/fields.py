"""Text fields of config and content files that check themselves when a file is loaded.

Each is a plain string after loading; the check only makes a bad value fail early, with the
file and key named by the loader, instead of when the value is first used.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from bot.durations import parse_duration
from bot.quiet import QuietHours, zone


def _zone_name(value: str) -> str:
    zone(value)
    return value


def _zone_name_or_empty(value: str) -> str:
    return _zone_name(value) if value else value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _duration_or_empty(value: str) -> str:
    return _duration(value) if value else value


def _quiet_window(value: str) -> str:
    QuietHours.parse(value)
    return value


ZoneName = Annotated[str, AfterValidator(_zone_name)]  # an IANA time zone: "Europe/Berlin"
ZoneNameOrEmpty = Annotated[str, AfterValidator(_zone_name_or_empty)]
Duration = Annotated[str, AfterValidator(_duration)]  # "2h", "1d 12h"
DurationOrEmpty = Annotated[str, AfterValidator(_duration_or_empty)]
QuietWindow = Annotated[str, AfterValidator(_quiet_window)]  # "21:00-09:00"; empty: none
