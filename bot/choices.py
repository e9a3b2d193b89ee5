"""Resolving what a person typed against the choices they were offered: "2", "!2" or a word."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.i18n import ENGLISH, Translator

_SPLIT = re.compile(r"\s*[,;]\s*|\s+and\s+")


@dataclass
class Resolution:
    picked: list[str] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    error: str = ""


def _match(token: str, offered: list[list[str]]) -> str | None:
    wanted = token.strip().lower()
    for key, label in offered:
        if wanted in (key.lower(), label.lower()):
            return key
    return None


def resolve(text: str, offered: list[list[str]], multi: bool,
            tr: Translator = ENGLISH) -> Resolution:
    """Map numbers and words to choice keys; numbers out of range are an error."""
    result = Resolution()
    if not text.strip():
        return result
    tokens = [t for t in _SPLIT.split(text.strip()) if t] if multi else [text.strip()]
    for token in tokens:
        if token.isdigit():
            index = int(token)
            if not offered:
                result.free.append(token)
            elif 1 <= index <= len(offered):
                result.picked.append(offered[index - 1][0])
            else:
                result.error = tr.t("There is no option {index} here: pick a number from 1 "
                                    "to {count}, or type the word.", index=index,
                                    count=len(offered))
                return result
            continue
        key = _match(token, offered)
        if key is not None:
            result.picked.append(key)
        else:
            result.free.append(token)
    return result
