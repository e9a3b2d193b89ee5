"""Import the irc library without tempora. Imported before `irc.client`, which imports
`irc.schedule` eagerly.

`irc.schedule` is the select-loop Reactor's timer queue, built on tempora (which loads
dateutil's parser and time zones): about 2 MB resident. The asyncio reactor this adapter runs
(`AioReactor`) never creates one (its `__init__` does not call `Reactor.__init__`, which
does), and the adapter keeps its own timers on the loop. The stand-in keeps the module's two
names, which `irc.client` reads when it is imported, and should a `Reactor` ever be made,
runs what it schedules on the running asyncio loop.
"""

from __future__ import annotations

import abc
import asyncio
import sys
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _seconds(delay: float | timedelta) -> float:
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


class IScheduler(metaclass=abc.ABCMeta):
    """irc.schedule.IScheduler's interface, as `Reactor` checks it."""

    @abc.abstractmethod
    def execute_every(self, period: float | timedelta, func: Callable[[], object]) -> None:
        "execute func every period"

    @abc.abstractmethod
    def execute_at(self, when: float | datetime, func: Callable[[], object]) -> None:
        "execute func at when"

    @abc.abstractmethod
    def execute_after(self, delay: float | timedelta, func: Callable[[], object]) -> None:
        "execute func after delay"

    @abc.abstractmethod
    def run_pending(self) -> None:
        "invoke the functions that are due"


class DefaultScheduler(IScheduler):
    """Timers on the running asyncio loop (the asyncio reactor's, where they are set)."""

    def execute_every(self, period: float | timedelta, func: Callable[[], object]) -> None:
        seconds = _seconds(period)
        loop = asyncio.get_running_loop()

        def tick() -> None:
            loop.call_later(seconds, tick)
            func()

        loop.call_later(seconds, tick)

    def execute_at(self, when: float | datetime, func: Callable[[], object]) -> None:
        """`when` a timestamp or a datetime (naive: UTC, as tempora reads it)."""
        moment = (datetime.fromtimestamp(when, UTC) if isinstance(when, int | float)
                  else when if when.tzinfo else when.replace(tzinfo=UTC))
        self.execute_after(max(0.0, (moment - datetime.now(UTC)).total_seconds()), func)

    def execute_after(self, delay: float | timedelta, func: Callable[[], object]) -> None:
        asyncio.get_running_loop().call_later(_seconds(delay), func)

    def run_pending(self) -> None:
        """Nothing to do: the loop runs each function when it is due."""


def skip_tempora() -> None:
    if "irc.schedule" in sys.modules:
        return  # too late, or done already
    stand_in = types.ModuleType("irc.schedule",
                                "Stand-in: see adapters/irc/lean_schedule.py")
    stand_in.IScheduler = IScheduler  # type: ignore[attr-defined]
    stand_in.DefaultScheduler = DefaultScheduler  # type: ignore[attr-defined]
    sys.modules["irc.schedule"] = stand_in


skip_tempora()
