"""Durations written the way organizers write them: "90s", "15m", "48h", "7d", "1d12h"."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache, partial

from bot.i18n import ENGLISH, N_, TranslatableError, Translator

_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


LONGEST = timedelta(days=366)  # nothing the bot waits for is further off than a year


@lru_cache(maxsize=1024)  # config values are read on every turn that needs them
def parse_duration(text: str, longest: timedelta = LONGEST) -> timedelta:
    """Parse "48h" style durations; raise ValueError with a readable reason (translatable:
    TranslatableError), also for one longer than `longest` (a date that far off would not fit
    the calendar: "3000000d")."""
    compact = text.strip().lower().replace(" ", "")
    if not compact:
        raise TranslatableError(N_("empty duration; write it like 30m, 48h or 7d"))
    if len(compact) > 32:
        raise TranslatableError(N_("that duration is too long to read; write it like 30m, 48h "
                                   "or 7d"))
    pos = 0
    seconds = 0
    for match in _PART.finditer(compact):
        if match.start() != pos:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(compact):
        raise TranslatableError(N_("{text} is not a duration; write it like 30m, 48h or 7d"),
                                text=repr(text))
    if seconds <= 0:
        raise TranslatableError(N_("{text} must be longer than zero"), text=repr(text))
    if seconds > longest.total_seconds():
        raise TranslatableError(N_("{text} is too long; at most {longest}"), text=repr(text),
                                longest=partial(describe, longest))
    return timedelta(seconds=seconds)


def describe(delta: timedelta, tr: Translator = ENGLISH) -> str:
    """Say a duration in words a person reads at a glance (in `tr`'s language)."""
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return tr.tn("{n} day", "{n} days", seconds // 86400)
    if seconds >= 3600:
        return tr.tn("{n} hour", "{n} hours", seconds // 3600)
    if seconds >= 60:
        return tr.tn("{n} minute", "{n} minutes", seconds // 60)
    return tr.tn("{n} second", "{n} seconds", seconds)
