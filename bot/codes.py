"""Short codes people read aloud and type: certificates and link codes."""

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


def case_code() -> str:
    """Five characters with at least one digit, so a code never reads as a word ("!resolve
    great job"): short enough to type after !claim, about 19 million possibilities."""
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(5))
        if any(ch.isdigit() for ch in code):
            return code


def looks_like_case_code(word: str) -> bool:
    return len(word) == 5 and all(ch in ALPHABET for ch in word) and any(
        ch.isdigit() for ch in word)
