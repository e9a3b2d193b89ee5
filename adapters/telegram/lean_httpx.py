"""Import httpx without its command line (bot/http.py's `lean_httpx`). Imported before
python-telegram-bot, which loads httpx.

httpx's `__init__` imports `httpx._main` (its CLI) eagerly whenever click, rich and pygments
are installed, as they are for Wayfinder's own command line: about 5 MB resident and 80
modules the bot never uses. Upstream, the import was made lazy in the httpx2 fork
(pydantic/httpx2#947); encode/httpx still imports it eagerly.
"""

from __future__ import annotations

from bot.http import lean_httpx

lean_httpx()
