"""Import APScheduler without the process pool it offers. Imported before anything else
imports `apscheduler`.

APScheduler's executors module imports multiprocessing and concurrent.futures.process at
import (with pickle, sockets and queues for them) for its ProcessPoolExecutor; the ticker
runs on the asyncio executor and never starts a process pool: about 0.5 MB resident. While
APScheduler loads, both are stand-ins (bot/lean_import.py); right after, the real ones import
for whoever needs them. If APScheduler or the process pool is loaded already, nothing changes.
"""

from __future__ import annotations

from bot.lean_import import import_lean, stand_ins


class BrokenPoolStandInError(RuntimeError):
    """Stands in for concurrent.futures.process.BrokenProcessPool inside APScheduler's
    process pool executor, which never runs here."""


def load_apscheduler_lean() -> None:
    why = "APScheduler's process pool: see bot/lean_apscheduler.py"
    modules = stand_ins(("multiprocessing", "concurrent.futures.process"), why)
    process = next(m for m in modules if m.__name__ == "concurrent.futures.process")
    process.BrokenProcessPool = BrokenPoolStandInError  # type: ignore[attr-defined]
    import_lean("apscheduler.schedulers.asyncio", stand_in=[modules])


load_apscheduler_lean()
