"""One running bot per SQLite file: a second `wayfinder run` or `wayfinder chat` on a file a
running bot holds refuses to start and names the process; one-shot commands still run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.processes import greeted_bot

WAYFINDER = [sys.executable, "-m", "bot"]


def _wayfinder(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WAYFINDER, *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=60, check=False)


def test_a_second_bot_on_the_same_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    """Regression: two bot processes on one store each wrote back their cached state over the
    other's (a withdrawn invite consent came back), and nothing was logged."""
    with greeted_bot([*WAYFINDER, "run"], tmp_path) as first:
        for command in (["chat", "--as", "other"], ["run"]):
            second = _wayfinder(tmp_path, *command, stdin="!start\n")
            assert second.returncode == 1, second.stderr
            assert f"wayfinder.db is in use by a running bot (pid {first.pid}, 'wayfinder " \
                   "run', since " in second.stderr
            assert "use PostgreSQL to run several processes" in second.stderr
            assert "Hi, I'm Wayfinder" not in second.stdout
        outbox = _wayfinder(tmp_path, "outbox")  # a one-shot command runs beside the bot
        assert outbox.returncode == 0, outbox.stderr
        first.send_signal(signal.SIGKILL)  # however it ends, the kernel drops its lock
        first.communicate(timeout=10)
    after = _wayfinder(tmp_path, "chat", "--as", "other", stdin="!start\n")
    assert after.returncode == 0, after.stderr
    assert "Hi, I'm Wayfinder" in after.stdout
