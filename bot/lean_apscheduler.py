"""Import APScheduler without the process pool it offers. Imported before anything else
imports `apscheduler`.

APScheduler's executors module imports multiprocessing and concurrent.futures.process at
import (with pickle, sockets and queues for them) for its ProcessPoolExecutor; the ticker
runs on the asyncio executor and never starts a process pool: about 0.5 MB resident. While
APScheduler loads, both are stand-ins; right after, the real ones import for whoever needs
them. If APScheduler or the process pool is loaded already, nothing changes.
"""

from __future__ import annotations

import sys
import types
from typing import NoReturn

STAND_INS = ("multiprocessing", "concurrent.futures.process")


class BrokenPoolStandInError(RuntimeError):
    """Stands in for concurrent.futures.process.BrokenProcessPool inside APScheduler's
    process pool executor, which never runs here."""


class _NotLoaded(types.ModuleType):
    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)  # what the import system asks a module
        raise RuntimeError(f"{self.__name__}.{name}: APScheduler's process pool is not "
                           "loaded inside Wayfinder (see bot/lean_apscheduler.py)")


def load_apscheduler_lean() -> None:
    if "apscheduler" in sys.modules or any(name in sys.modules for name in STAND_INS):
        return  # too late, or the real ones are in use anyway
    stand_ins = {name: _NotLoaded(name) for name in STAND_INS}
    stand_ins["concurrent.futures.process"].BrokenProcessPool = (  # type: ignore[attr-defined]
        BrokenPoolStandInError)
    sys.modules.update(stand_ins)
    try:
        import apscheduler.schedulers.asyncio  # noqa: F401
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


load_apscheduler_lean()
