"""Import matrix-nio without two dependencies the adapter never runs. Imported before
anything else imports `nio`.

- pycryptodome (attachment encryption) calls its C code through cffi whenever cffi is
  installed, and cffi parses each C declaration with pycparser at import. While nio loads,
  cffi is unimportable, so pycryptodome takes its other backend, ctypes (the same C code).
- nio's HttpClient, a sans-I/O client for HTTP/2, imports h2 (with hpack and hyperframe) at
  import; the adapter runs nio's AsyncClient, on aiohttp, which never touches it. While nio
  loads, `h2` is a stand-in that says why if anything uses it.
- AsyncClient imports aiohttp_socks (with python_socks, about 30 modules) for a SOCKS or
  HTTP proxy, used only when given `proxy=`, which the adapter never gives: a stand-in too.

Together about 2 MB resident (bench.startup). Right after nio has loaded, cffi, h2 and
aiohttp_socks are importable again for whoever needs them. If nio is loaded already,
nothing changes.
"""

from __future__ import annotations

import sys
import types
from typing import Any, NoReturn

STAND_IN = {"h2": ("h2", "h2.config", "h2.connection", "h2.errors", "h2.events", "h2.exceptions"),
            "aiohttp_socks": ("aiohttp_socks",)}


class _Missing:
    """What nio imports from a stand-in (`from aiohttp_socks import ProxyConnector`): any
    use says why."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _fail(self) -> NoReturn:
        raise RuntimeError(f"{self._name} is not loaded for matrix-nio inside Wayfinder "
                           "(see adapters/matrix/lean_nio.py)")

    def __getattr__(self, name: str) -> NoReturn:
        self._fail()

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        self._fail()


class _NotLoaded(types.ModuleType):
    def __getattr__(self, name: str) -> _Missing:
        if name.startswith("__"):
            raise AttributeError(name)  # what the import system asks a module
        return _Missing(f"{self.__name__}.{name}")


def load_nio_lean() -> None:
    if "nio" in sys.modules:
        return  # too late, or done already
    blocked: dict[str, Any] = {}
    if "Crypto" not in sys.modules and "cffi" not in sys.modules:
        blocked["cffi"] = None  # import raises ImportError: pycryptodome falls back to ctypes
    for package, names in STAND_IN.items():
        if package in sys.modules:
            continue  # loaded already: nio gets the real one
        stand_ins = {name: _NotLoaded(name) for name in names}
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
