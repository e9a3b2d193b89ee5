"""An adapter that keeps crashing (its server down for hours) is restarted with a growing
wait, and only its first crash of a run logs a traceback: one line each after it."""

from __future__ import annotations

import logging

import pytest

import bot.app
from bot.app import App, restart_delay
from bot.ports import InboundSink
from tests.harness import make_config


class Flaky:
    """Crashes `crashes` times (connection refused), then runs to its end."""

    network = "flaky"

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes
        self.runs = 0

    async def run(self, sink: InboundSink) -> None:
        self.runs += 1
        if self.runs <= self.crashes:
            raise ConnectionRefusedError(111, "Connection refused")


def test_the_wait_doubles_per_crash_in_a_row_up_to_a_minute() -> None:
    assert [restart_delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


async def test_crashes_in_a_row_log_one_traceback_then_one_line_each(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bot.app, "RESTART_DELAY_SECONDS", 0.001)
    app = App(make_config(sqlite_url), [])
    app.inbound = None  # type: ignore[assignment]  # not started: the adapter never delivers
    adapter = Flaky(crashes=4)
    with caplog.at_level(logging.INFO, logger="bot.app"):
        await app._supervise(adapter)  # type: ignore[arg-type]  # only run() is used
    assert adapter.runs == 5  # restarted after each crash, then ran to its end
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crashes) == 4
    first, *again = crashes
    assert first.levelno == logging.ERROR
    assert first.exc_info is not None
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in again)
    assert "crashed again (2 in a row: ConnectionRefusedError: [Errno 111] Connection " \
           "refused)" in again[0].getMessage()
    assert "4 in a row" in again[-1].getMessage()
