"""Import python-telegram-bot without cryptography. Imported before anything else imports
`telegram`.

python-telegram-bot imports cryptography eagerly whenever it is installed (it is, for the
Matrix adapter's optional cross-signing), only to decrypt Telegram Passport data with a
`Bot(private_key=...)`: about 7 MB resident, its Rust bindings alone 4 MB. Wayfinder never
reads Passport data nor gives the bot a private key. While `telegram` loads, cryptography is
made unimportable, so python-telegram-bot records it as not installed (Passport decryption
would then say so); right after, it is importable again for whoever needs it. If
cryptography or telegram is loaded already, nothing changes.
"""

from __future__ import annotations

import sys


def load_telegram_without_cryptography() -> None:
    if "telegram" in sys.modules or "cryptography" in sys.modules:
        return  # too late, or not needed
    sys.modules["cryptography"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import telegram  # noqa: F401
    finally:
        if "cryptography" in sys.modules and sys.modules["cryptography"] is None:
            del sys.modules["cryptography"]


load_telegram_without_cryptography()
