"""One running bot per SQLite file.

Two bots on one file would each cache people's state and write it back over the other's
(DESIGN "Several processes": SQLite is one process per file). `wayfinder run` and
`wayfinder chat` hold an exclusive lock on `<file>.lock` while they run; a second one refuses
to start and names the process that holds it. The kernel drops the lock when that process
ends, however it ends (kill -9 included). One-shot commands (`wayfinder outbox`, `wayfinder
broadcast`, reports) take no lock: they are meant to run beside the bot. PostgreSQL needs no
such lock (several processes share it safely)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.ports import StoreBrokenError


class StoreHeldError(StoreBrokenError):
    """Another running bot holds this store (the message names it); `wayfinder` exits 1."""


def lock_path(url: str) -> Path | None:
    """The lock file of a SQLite file URL; None for other stores."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).resolve().with_name(Path(parsed.database).name + ".lock")


@contextlib.contextmanager
def holding(url: str) -> Iterator[None]:
    """Hold the store for this process while the block runs (StoreHeldError if another
    running bot holds it)."""
    path = lock_path(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreHeldError(
                f"{path.with_suffix('')} is in use by a running bot ({holder}). SQLite serves "
                "one bot process per file: stop that one first, or use PostgreSQL to run "
                "several processes.") from None
        handle.seek(0)
        handle.truncate()
        command = " ".join(["wayfinder", *sys.argv[1:]])[:200]
        handle.write(f"pid {os.getpid()}, '{command}', since {time.strftime('%Y-%m-%d %H:%M')}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
