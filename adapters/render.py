"""Plain-text rendering of neutral outbound messages, for text-only networks and the console."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.i18n import FSI, PDI, Translator, translator
from bot.model import Outbound

# Embeddings and overrides (and the isolates that name a direction) can make a line read
# backwards; the bot never writes them.
_DIRECTIONAL = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067")


def words_of(msg: Outbound) -> Translator:
    """The adapter's own words (a choice line, a note) in the recipient's language."""
    return translator(msg.locale or "en")


def keep_isolates(text: str) -> str:
    """`text` without bidi embeddings and overrides, keeping the first-strong isolates the
    bot put around a content text (bot/i18n.isolate: an Arabic project name inside an English
    sentence); an isolate without its pair is dropped, one left open is closed at its line's
    end, so nothing leaks into the next line."""
    if not any(ch in _DIRECTIONAL or ch in (FSI, PDI) for ch in text):
        return text
    out: list[str] = []
    depth = 0
    for ch in text:
        if ch in _DIRECTIONAL:
            continue
        if ch == FSI:
            depth += 1
        elif ch == PDI:
            if not depth:
                continue
            depth -= 1
        elif ch == "\n" and depth:
            out.append(PDI * depth)
            depth = 0
        out.append(ch)
    out.append(PDI * depth)
    return "".join(out)


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
        lines.append(words_of(msg).t("[file: {name}, {size} bytes]", name=msg.file.name,
                                     size=len(msg.file.data)))
    return "\n".join(lines)


def with_links(text: str, links: Sequence[tuple[str, str]], escape: Callable[[str], str]) -> str:
    """`text` escaped for HTML, with the first occurrence of each name made a link to its
    address: (name, href) pairs, names as the text has them. A name not in the text is
    left out; nothing else of the text can become markup."""
    import html  # with html.entities (a large table): only HTML networks link names

    pieces: list[tuple[str, str]] = [(text, "")]  # (text, the href it links to, if any)
    for name, href in links:
        for index, (piece, linked) in enumerate(pieces):
            at = piece.find(name) if name and not linked else -1
            if at >= 0:
                pieces[index:index + 1] = [(piece[:at], ""), (name, href),
                                           (piece[at + len(name):], "")]
                break
    return "".join(f'<a href="{html.escape(href, quote=True)}">{escape(piece)}</a>' if href
                   else escape(piece) for piece, href in pieces)
