"""Per-sender and per-room flood limits on what reaches the engine.

One person (or one channel) sending faster than a person types gets one polite warning; what
follows within the window is dropped and counted, so everyone else keeps normal latency.

A fixed window per key, in plain dicts: about half a microsecond a message. The `limits`
library's limiters (measured here at 7.6 to 8.7 µs a hit) would cost a few percent of the
core's whole budget per message (bench.core), so this stays this small and is tested alone
(tests/test_floods.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)

MAX_KEYS = 50_000  # then windows that have ended are forgotten


class Verdict(Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first message over the limit: answer it with the warning only
    DROP = "drop"  # over the limit and warned already


@dataclass
class _Window:
    start: float
    count: int
    dropped: int = 0
    warned: bool = False


class Floodgate:
    """At most `limit` messages per `seconds` per key; 0 lets everything through."""

    def __init__(self, limit: int, seconds: float, what: str) -> None:
        self.limit, self.seconds, self.what = limit, seconds, what
        self.windows: dict[str, _Window] = {}
        self.dropped = 0  # in this process's life, for reports and tests

    def admit(self, key: str, now: float) -> Verdict:
        if self.limit <= 0:
            return Verdict.ADMIT
        window = self.windows.get(key)
        if window is None or now - window.start >= self.seconds:
            # A flood that goes on into the next window is not warned about again.
            still = window is not None and window.dropped > 0 and \
                now - window.start < 2 * self.seconds
            if window is not None and window.dropped:
                log.warning("dropped %d messages from %s %s over %d in %.0f s", window.dropped,
                            self.what, key, self.limit, self.seconds)
            if window is None and len(self.windows) >= MAX_KEYS:
                self._forget_ended(now)
            self.windows[key] = _Window(now, 1, warned=still)
            return Verdict.ADMIT
        window.count += 1
        if window.count <= self.limit:
            return Verdict.ADMIT
        if not window.warned:
            window.warned = True
            return Verdict.WARN
        window.dropped += 1
        self.dropped += 1
        return Verdict.DROP

    def _forget_ended(self, now: float) -> None:
        ended = [k for k, w in self.windows.items() if now - w.start >= 2 * self.seconds]
        for key in ended:
            del self.windows[key]
        if len(self.windows) >= MAX_KEYS:  # all busy at once: forget the oldest half
            for key in sorted(self.windows, key=lambda k: self.windows[k].start)[:MAX_KEYS // 2]:
                del self.windows[key]
