"""Cleaning what people type, before any flow sees it."""

from __future__ import annotations

import re
import unicodedata

MAX_INPUT_CHARS = 2000

# Bidi embeddings, overrides and isolates can make echoed text read backwards.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# C0/C1 controls other than tab and newline, which a terminal or a line protocol would act on.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_bidi(text: str) -> str:
    """TEXT without bidi embeddings, overrides and isolates (shown as is, it could read
    backwards, and make what follows it read backwards too)."""
    return _BIDI.sub("", text)


def clean_input(text: str) -> tuple[str, bool]:
    """Strip controls and bidi overrides, normalise, and cap the length.

    Returns the cleaned text and whether it was cut short.
    """
    if text.isascii() and text.isprintable():
        # Most messages: printable ASCII has no controls or bidi marks and is its own NFC.
        text = text.strip()
    else:
        text = unicodedata.normalize("NFC", text)
        text = _CONTROL.sub("", _BIDI.sub("", text)).strip()
    if len(text) > MAX_INPUT_CHARS:
        return text[:MAX_INPUT_CHARS], True
    return text, False


def one_line(text: str, limit: int = 80) -> str:
    """A single line for echoing user text back: whitespace collapsed, shortened."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def unseen_characters(name: str) -> list[str]:
    """The characters of a name that a reader cannot see or that change how it reads (format
    characters such as zero-width spaces and bidi controls, other controls, whitespace), each
    as "U+200B ZERO WIDTH SPACE". A name holding one could pass for someone else's."""
    found: list[str] = []
    for char in name:
        if unicodedata.category(char) in ("Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp") \
                or char.isspace():
            label = f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"
            if label not in found:
                found.append(label)
    return found
