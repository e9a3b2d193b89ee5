"""Import matrix-nio without two dependencies the adapter never runs. Imported before
anything else imports `nio`.

- pycryptodome (attachment encryption) calls its C code through cffi whenever cffi is
  installed, and cffi parses each C declaration with pycparser at import. While nio loads,
  cffi is unimportable, so pycryptodome takes its other backend, ctypes (the same C code).
- nio's HttpClient, a sans-I/O client for HTTP/2, imports h2 (with hpack and hyperframe) at
  import; the adapter runs nio's AsyncClient, on aiohttp, which never touches it. While nio
  loads, `h2` is a stand-in that says why if anything uses it.

Together about 1.8 MB resident (bench.startup). Right after nio has loaded, cffi and h2 are
importable again for whoever needs them. If nio is loaded already, nothing changes.
"""

from __future__ import annotations

import sys
import types
from typing import Any, NoReturn

STAND_IN = ("h2", "h2.config", "h2.connection", "h2.errors", "h2.events", "h2.exceptions")


class _NotLoaded(types.ModuleType):
    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(f"{self.__name__}.{name}: h2 is not loaded for matrix-nio's "
                           "HttpClient inside Wayfinder (see adapters/matrix/lean_nio.py)")


def load_nio_lean() -> None:
    if "nio" in sys.modules:
        return  # too late, or done already
    blocked: dict[str, Any] = {}
    if "Crypto" not in sys.modules and "cffi" not in sys.modules:
        blocked["cffi"] = None  # import raises ImportError: pycryptodome falls back to ctypes
    if "h2" not in sys.modules:
        stand_ins = {name: _NotLoaded(name) for name in STAND_IN}
        for name, module in stand_ins.items():
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(stand_ins[parent], child, module)
        blocked.update(stand_ins)
    sys.modules.update(blocked)
    try:
        import nio  # noqa: F401
    finally:
        for name, module in blocked.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]


load_nio_lean()
