"""Short codes people read aloud and type (certificates, link codes, case codes): the
alphabet and the eight-character form."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L


def short_code() -> str:
    """Eight characters as XXXX-XXXX: 30^8 (about 6.6e11) possibilities."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{compact[:4]}-{compact[4:]}" if len(compact) == 8 else compact
