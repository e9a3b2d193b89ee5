"""Import python-telegram-bot without what Wayfinder never runs of it. Imported before
anything else imports `telegram`.

- httpx, which it loads, imports its command line (`httpx._main`) eagerly whenever click,
  rich and pygments are installed, as they are for Wayfinder's own: about 5 MB resident and
  80 modules (bot/http.py's `lean_httpx`; made lazy upstream only in the httpx2 fork,
  pydantic/httpx2#947).
- It imports cryptography eagerly whenever it is installed (it is, for the Matrix adapter's
  optional cross-signing), only to decrypt Telegram Passport data with a
  `Bot(private_key=...)`: about 7 MB resident, its Rust bindings alone 4 MB. Wayfinder never
  reads Passport data nor gives the bot a private key. While `telegram` loads, cryptography
  is unimportable (bot/lean_import.py), so python-telegram-bot records it as not installed
  (Passport decryption would then say so); right after, it is importable again for whoever
  needs it. If cryptography or telegram is loaded already, nothing changes.
"""

from __future__ import annotations

from bot.http import lean_httpx
from bot.lean_import import import_lean

lean_httpx()
import_lean("telegram", block=("cryptography",))
