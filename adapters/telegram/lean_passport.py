"""Import python-telegram-bot without cryptography (bot/lean_import.py). Imported before
anything else imports `telegram`.

python-telegram-bot imports cryptography eagerly whenever it is installed (it is, for the
Matrix adapter's optional cross-signing), only to decrypt Telegram Passport data with a
`Bot(private_key=...)`: about 7 MB resident, its Rust bindings alone 4 MB. Wayfinder never
reads Passport data nor gives the bot a private key. While `telegram` loads, cryptography is
made unimportable, so python-telegram-bot records it as not installed (Passport decryption
would then say so); right after, it is importable again for whoever needs it. If
cryptography or telegram is loaded already, nothing changes.
"""

from __future__ import annotations

from bot.lean_import import import_lean

import_lean("telegram", block=("cryptography",))
