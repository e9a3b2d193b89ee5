"""Bridges and relay bots, pure: how a line relayed from another network looks, and whether a
sender is on a configured list of bridge and bot accounts.

A channel bridged between networks shows each line twice to a bot that sits on both sides:
once from the person, once relayed by the bridge. The relayed copy is never taken as someone
speaking to the bot (it answers on the side the person typed on), and the bot's own replies
relayed back are never taken at all. Relays write the original speaker into the line
(matterbridge's RemoteNickFormat: "[{PROTOCOL}] <{NICK}> ", or "<{NICK}> "); puppeting
bridges (a Matrix user per IRC nick) post as accounts of their own, which operators list by
pattern ("@irc_*:example.org", "*[m]").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_RELAYED = re.compile(r"^\s*(?:\[(?P<network>[^\]\s]{1,40})\]\s*)?"  # [irc]
                      r"<(?P<nick>[^<>\s]{1,64})>:?\s+"  # <ana>
                      r"(?P<text>\S.*)$", re.DOTALL)


@dataclass(frozen=True)
class Relayed:
    """A line a relay posted for someone on another network."""

    nick: str
    text: str
    network: str = ""  # as the relay names it ("" when its format names none)

    def __str__(self) -> str:
        where = f" on {self.network}" if self.network else ""
        return f"<{self.nick}>{where}"


def relayed_line(text: str) -> Relayed | None:
    """The speaker and words of a relayed line ("[irc] <ana> !start", "<ana> hi"), or None."""
    found = _RELAYED.match(text)
    if found is None:
        return None
    return Relayed(found["nick"], found["text"], found["network"] or "")


def _wildcards(pattern: str) -> re.Pattern[str]:
    """`*` any run of characters, `?` one; everything else literal (IRC nicks hold [ and ])."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.casefold())
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def listed(who: Iterable[str], patterns: Iterable[str]) -> str:
    """The first pattern (`*` and `?` wildcards, case-insensitive) that one of `who`
    matches, or ""."""
    names = [w.casefold() for w in who if w]
    for pattern in patterns:
        wanted = _wildcards(pattern)
        if any(wanted.match(name) for name in names):
            return pattern
    return ""


def bridge_reason(sender: str, text: str, matched: str, setting: str) -> str:
    """Why a line from a bridge or bot account is not taken, for the log."""
    line = relayed_line(text)
    said = f"a line relayed for {line}" if line is not None else "a line"
    return f"{said} from {sender}, a bridge or bot account ({matched!r} in {setting})"
