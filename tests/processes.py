"""A real `wayfinder run` child for the tests of start-up, shutdown and store failures."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

GREETING = "Hi, I'm Wayfinder"


@contextmanager
def greeted_bot(command: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """The bot started by `command` in `cwd` on the console, once it has answered `!start`
    (so it has opened and migrated its store); killed at the end if it is still running."""
    with subprocess.Popen(command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.write("!start\n")
            proc.stdin.flush()
            assert GREETING in proc.stdout.readline()
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
