"""Import httpx without its command line. Imported before python-telegram-bot, which loads
httpx.

httpx's `__init__` imports `httpx._main` (its CLI) eagerly whenever click, rich and pygments
are installed, as they are for Wayfinder's own command line: about 5 MB resident and 80
modules the bot never uses. Upstream, the import was made lazy in the httpx2 fork
(pydantic/httpx2#947); encode/httpx still imports it eagerly. A stand-in `httpx._main` keeps
`from ._main import main` cheap; the stand-in's `main` says why it does nothing.
"""

from __future__ import annotations

import sys
import types


def _no_cli() -> None:
    raise RuntimeError("httpx's command line is not loaded inside Wayfinder "
                       "(see adapters/telegram/lean_httpx.py)")


def skip_httpx_cli() -> None:
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return  # too late, or done already
    stand_in = types.ModuleType("httpx._main", "Not loaded: see adapters/telegram/lean_httpx.py")
    stand_in.main = _no_cli  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = stand_in


skip_httpx_cli()
