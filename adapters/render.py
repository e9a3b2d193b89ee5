"""Plain-text rendering of neutral outbound messages, for text-only networks and the console."""

from __future__ import annotations

from bot.model import Outbound


def render_plain(msg: Outbound) -> str:
    """The text, then numbered choices answered with a number, `!N` or the word."""
    lines = [msg.text]
    if msg.choices:
        lines.append("")
        lines.extend(f"  {n}) {choice.label}" for n, choice in enumerate(msg.choices, 1))
    if msg.file is not None:
        lines.append(f"[file: {msg.file.name}, {len(msg.file.data)} bytes]")
    return "\n".join(lines)
