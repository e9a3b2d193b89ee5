"""Text fields of config and content files that check themselves when a file is loaded.

Each is a plain string after loading; the check only makes a bad value fail early, with the
file and key named by the loader, instead of when the value is first used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

from bot.durations import parse_duration


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name; ValueError with a readable reason if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as "
                         "Europe/Berlin") from None


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except ValueError:
        return False
    return True


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


ZoneName = Annotated[str, AfterValidator(_zone_name)]  # an IANA time zone: "Europe/Berlin"
ZoneNameOrEmpty = Annotated[str, AfterValidator(_zone_name_or_empty)]
Duration = Annotated[str, AfterValidator(_duration)]  # "2h", "1d 12h"
DurationOrEmpty = Annotated[str, AfterValidator(_duration_or_empty)]
