"""Short codes people read aloud and type (certificates, link codes, case codes): the
alphabet and the eight-character form."""

from __future__ import annotations

import os
import threading

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L
POOL_BYTES = 4096


class _Pool:
    """The system's randomness (os.urandom), drawn 4 KiB at a time. Each draw is a system
    call that lets go of the interpreter, and getting it back from the store's writer thread
    cost up to milliseconds per code on the event loop; a pool makes that one draw in a
    hundred codes. A forked child starts with an empty pool, never its parent's bytes."""

    def __init__(self) -> None:
        self._bytes = b""
        self._at = 0
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._bytes, self._at = b"", 0

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound), by rejection sampling as secrets.randbelow."""
        size = (bound.bit_length() + 7) // 8
        excess = size * 8 - bound.bit_length()
        with self._lock:
            while True:
                if self._at + size > len(self._bytes):
                    self._bytes, self._at = os.urandom(POOL_BYTES), 0
                value = int.from_bytes(self._bytes[self._at:self._at + size], "big") >> excess
                self._at += size
                if value < bound:
                    return value


_POOL = _Pool()


def random_code(length: int) -> str:
    """`length` characters of ALPHABET, each uniform and independent, from one draw."""
    draw = _POOL.below(len(ALPHABET) ** length)
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
