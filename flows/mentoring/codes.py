"""Case codes: what a mentor types after !claim, !handback and !resolve."""

from __future__ import annotations

from bot.codes import ALPHABET, random_code


def case_code() -> str:
    """Five characters with at least one digit, so a code never reads as a word ("!resolve
    great job"): short enough to type after !claim, about 19 million possibilities."""
    while True:
        code = random_code(5)
        if any(ch.isdigit() for ch in code):
            return code


def looks_like_case_code(word: str) -> bool:
    return len(word) == 5 and all(ch in ALPHABET for ch in word) and any(
        ch.isdigit() for ch in word)
