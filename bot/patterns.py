"""Organizers' regular expressions, matched with a time limit.

A pattern such as `^(a|aa)+$` backtracks for seconds on a short hostile answer, and the event
loop would wait for it. The `regex` library's matcher guards many such patterns itself and
stops the rest at `timeout`; a pattern that runs out of time counts as not matching."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import regex

log = logging.getLogger(__name__)

# Wall-clock time, so it must leave room for a loaded machine descheduling the process: at
# 50 ms, bench.core on a machine at load 10 refused a correct link to a plain pattern. A
# hostile pattern holds the loop at most this long, not for seconds.
MATCH_SECONDS = 0.25


class PatternError(ValueError):
    """A pattern that does not compile, in words for the organizer."""


@lru_cache(maxsize=512)
def compiled(pattern: str) -> regex.Pattern[str]:
    import regex  # loaded with the first pattern: an idle console bot stays light

    try:
        return regex.compile(pattern)
    except regex.error as exc:
        raise PatternError(f"bad regular expression: {exc}") from None


def matches(pattern: str, text: str, timeout: float = MATCH_SECONDS) -> bool:
    """Whether TEXT matches PATTERN from its start; False (and one log line) when the match
    takes longer than `timeout`."""
    try:
        # concurrent=False: by default the matcher lets go of the GIL, and getting it back
        # from the store's writer thread cost up to milliseconds per match (bench.core: a
        # third of its CPU time per message went here).
        return compiled(pattern).match(text, timeout=timeout, concurrent=False) is not None
    except TimeoutError:
        log.warning("the pattern %r took over %.0f ms on a %d-character answer; counted as "
                    "not matching (simplify it in the content)", pattern, timeout * 1000,
                    len(text))
        return False
