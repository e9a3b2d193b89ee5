"""Pure translation between Telegram and the neutral model: HTML, keyboards, splitting."""

from __future__ import annotations

import html
from dataclasses import dataclass

from adapters.render import is_command_choice
from bot.model import Outbound

TELEGRAM_MAX = 4096  # characters, counted by Telegram in UTF-16 code units
CALLBACK_DATA_MAX = 64
ANONYMOUS_ADMIN = 1087968824  # "GroupAnonymousBot": a group admin posting anonymously


@dataclass(frozen=True)
class Rendered:
    html: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, callback data), one per row


def _callback_data(key: str, number: int) -> str:
    """The number answers the person's current question; a command choice is sent as the
    command itself (Telegram allows 64 bytes of callback data)."""
    if is_command_choice(key) and len(key.encode()) <= CALLBACK_DATA_MAX:
        return key
    return str(number)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TELEGRAM_MAX) -> list[str]:
    """Split at the limit (UTF-16 units), at a line break where one is near, never inside a
    character."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        cut, size = 0, 0
        for index, char in enumerate(rest):
            size += 2 if ord(char) > 0xFFFF else 1
            if size > limit:
                break
            cut = index + 1
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        parts.append(rest)
    return parts


def render(msg: Outbound) -> list[Rendered]:
    """Escape everything (Telegram's HTML mode), choices as buttons on the last part."""
    rendered = [Rendered(html.escape(part, quote=False)) for part in split_text(msg.text)]
    if msg.choices:
        buttons = tuple((choice.label[:60], _callback_data(choice.key, n))
                        for n, choice in enumerate(msg.choices, 1))
        rendered[-1] = Rendered(rendered[-1].html, buttons)
    return rendered
