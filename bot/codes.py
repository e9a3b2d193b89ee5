"""Short codes people read aloud and type (certificates, link codes, case codes): the
alphabet and the eight-character form."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L


def random_code(length: int) -> str:
    """`length` characters of ALPHABET, each uniform and independent, from one draw of the
    system's randomness (one draw per character made a system call each, and each one let
    the writer's thread take the interpreter: about 5% of the core benchmark's time)."""
    draw = secrets.randbelow(len(ALPHABET) ** length)
    chars = []
    for _ in range(length):
        draw, digit = divmod(draw, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def short_code() -> str:
    """Eight characters as XXXX-XXXX: 30^8 (about 6.6e11) possibilities."""
    raw = random_code(8)
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    compact = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{compact[:4]}-{compact[4:]}" if len(compact) == 8 else compact
