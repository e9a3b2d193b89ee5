"""Plain-text rendering of neutral outbound messages, for text-only networks and the console."""

from __future__ import annotations

from bot.model import Outbound


def is_command_choice(key: str) -> bool:
    """A choice that is a whole command ("!rsvp ev yes"): it works without any context, so
    messages that are not part of a conversation (invites) can offer it."""
    return key.startswith("!")


def render_plain(msg: Outbound) -> str:
    """The text, then numbered choices answered with a number, `!N` or the word."""
    lines = [msg.text]
    if msg.choices:
        lines.append("")
        lines.extend(f"  {choice.label}: {choice.key}" if is_command_choice(choice.key) else
                     f"  {n}) {choice.label}" for n, choice in enumerate(msg.choices, 1))
    if msg.file is not None:
        lines.append(f"[file: {msg.file.name}, {len(msg.file.data)} bytes]")
    return "\n".join(lines)
