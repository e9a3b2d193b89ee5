"""Pure translation between Telegram and the neutral model: HTML, keyboards, splitting."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from adapters.render import is_command_choice, with_links, words_of
from bot.model import Outbound

TELEGRAM_MAX = 4096  # characters, counted by Telegram in UTF-16 code units
CALLBACK_DATA_MAX = 64
ANONYMOUS_ADMIN = 1087968824  # "GroupAnonymousBot": a group admin posting anonymously
NAME_MAX = 64  # characters of a person's name shown in a mention
_UNSEEN = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\r\n\x00")


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


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _plain_name(name: str, unknown: str = "you") -> str:
    """A display name as the visible text of a link: no bidi controls or line breaks, short;
    `unknown` where there is nothing left."""
    cleaned = "".join(c for c in name if c not in _UNSEEN).strip()
    return cleaned[:NAME_MAX] or unknown


def mention_link(user_id: str, name: str, unknown: str = "you") -> str:
    """A mention as Telegram draws it: the person's name, linked to them (tg://user?id=),
    which notifies them in a group. Escaped: the name is whatever they chose."""
    shown = html.escape(_plain_name(name, unknown), quote=False)
    return f'<a href="tg://user?id={int(user_id)}">{shown}</a>'


def render(msg: Outbound, name_of: Callable[[str], str] = lambda _id: "") -> list[Rendered]:
    """Escape everything (Telegram's HTML mode), choices as buttons on the last part; a
    mention of someone on Telegram leads the first part as a link to them (`name_of` gives
    the name they go by, "" when unknown); people the text names (`named`) are links to
    them where their identity is on Telegram."""
    mention = msg.mention
    prefix = ""
    if mention is not None and mention.network == "telegram" and \
            mention.external_id.lstrip("-").isdigit():
        # The person the message is for: "you" where the bot has not heard their name.
        prefix = mention_link(mention.external_id, name_of(mention.external_id),
                              words_of(msg).t("you")) + ": "
    limit = TELEGRAM_MAX - (2 * NAME_MAX + 2 if prefix else 0)  # UTF-16 units at most
    links = [(n.name, f"tg://user?id={int(n.who.external_id)}") for n in msg.named
             if n.who.network == "telegram" and n.who.external_id.isdigit()]
    rendered = [Rendered(with_links(part, links, _escape))
                for part in split_text(msg.text, limit)]
    if prefix:
        rendered[0] = Rendered(prefix + rendered[0].html)
    if msg.choices:
        buttons = tuple((choice.label[:60], _callback_data(choice.key, n))
                        for n, choice in enumerate(msg.choices, 1))
        rendered[-1] = Rendered(rendered[-1].html, buttons)
    return rendered
