"""Cheap, pure parsing of a cleaned message into a command or free text."""

from __future__ import annotations

from typing import NamedTuple

MAX_COMMAND_LEN = 32


class ParsedInput(NamedTuple):
    """`command` is lower-case without prefix ("start"), or "" for free text.

    A named tuple, not a frozen dataclass: made for every message (and again by a numbered
    answer or a sub-command), and a frozen dataclass took twice as long to make."""

    command: str
    args: str
    text: str

    @property
    def is_command(self) -> bool:
        return bool(self.command)


def parse(text: str, prefixes: tuple[str, ...] = ("!",), nick: str = "") -> ParsedInput:
    """Recognise `!cmd args`, `/cmd@bot args` and `nick: cmd args`."""
    stripped = text.strip()
    body: str | None = None
    if nick:
        lowered, name = stripped.lower(), nick.lower()  # once: asked of every message
        if lowered.startswith(name):
            for sep in (":", ","):
                lead = name + sep
                if lowered.startswith(lead):
                    body = stripped[len(lead):].strip()
                    break
    if body is None:
        for prefix in prefixes:
            if stripped.startswith(prefix) and len(stripped) > len(prefix):
                body = stripped[len(prefix):]
                break
    if body is None or not body or body[0].isspace():
        return ParsedInput("", "", stripped)
    word, _, rest = body.partition(" ")
    word = word.split("@", 1)[0].lower()  # some networks append @botname in groups
    if not word or len(word) > MAX_COMMAND_LEN:
        return ParsedInput("", "", stripped)
    return ParsedInput(word, rest.strip(), stripped)
