"""Import matrix-nio without dependencies the adapter never runs (bot/lean_import.py).
Imported before anything else imports `nio`.

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

from bot.lean_import import import_lean, stand_ins


def load_nio_lean() -> None:
    why = "matrix-nio: see adapters/matrix/lean_nio.py"
    import_lean("nio", block=() if "Crypto" in sys.modules else ("cffi",),
                stand_in=[stand_ins(("h2", "h2.config", "h2.connection", "h2.errors",
                                     "h2.events", "h2.exceptions"), why),
                          stand_ins(("aiohttp_socks",), why)])


load_nio_lean()
