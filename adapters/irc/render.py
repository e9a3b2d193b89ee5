"""IRC text, pure: what may reach the wire, how long a line may be, how choices read.

Nothing here does I/O. Every string that becomes part of an IRC line (user text echoed back,
content, config) passes `clean` first: CR, LF and NUL would end or corrupt the line, and \\x01
would turn a message into CTCP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.irc.queue import is_channel
from adapters.render import is_command_choice, words_of
from bot.model import Outbound

LINE_LIMIT = 512  # bytes, including the prefix the server adds and the closing CR LF
# Until the server shows us our own user@host, assume the longest it may add.
DEFAULT_USER_LEN = 10
DEFAULT_HOST_LEN = 63

# mIRC formatting: bold, colour (with its digits), hex colour, reset, monospace, reverse,
# italic, strikethrough, underline.
_FORMATTING = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}"
                         r"(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROLS_BUT_FORMATTING = re.compile(r"[\x00\x01\x05-\x08\x0e\x10\x12-\x15\x17-\x1c\x7f]")
_RFC1459_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ[]\\~", "abcdefghijklmnopqrstuvwxyz{}|^")


def casefold(name: str) -> str:
    """Nicks and channels compare case-insensitively, with IRC's own rfc1459 mapping."""
    return name.translate(_RFC1459_UPPER)


def clean(text: str, formatting: bool = False) -> str:
    """One safe line: no line breaks, NUL, CTCP marker or (unless allowed) formatting codes."""
    text = _LINE_BREAKS.sub(" ", text).replace("\t", " ")
    if formatting:
        return _CONTROLS_BUT_FORMATTING.sub("", text)
    return _CONTROLS.sub("", _FORMATTING.sub("", text))


def clean_lines(text: str, formatting: bool = False) -> list[str]:
    """Lines of a multi-line text, each cleaned; blank lines dropped (IRC cannot send them)."""
    lines = (clean(part, formatting).rstrip() for part in _LINE_BREAKS.split(text))
    return [line for line in lines if line.strip()]


def split_bytes(line: str, limit: int) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, at a space where one is near, never inside a
    character."""
    if limit < 4:
        raise ValueError("an IRC line needs room for at least one character")
    pieces: list[str] = []
    rest = line
    while len(rest.encode()) > limit:
        cut = _fit(rest, limit)
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2:  # a break at a word, unless that wastes over half the line
            cut = space
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip(" ")
    if rest:
        pieces.append(rest)
    return pieces


def _fit(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-8 bytes."""
    used = 0
    for index, char in enumerate(text):
        used += len(char.encode())
        if used > limit:
            return index
    return len(text)


@dataclass(frozen=True)
class LineBudget:
    """What fits in one PRIVMSG line to a target, given how the server will prefix it."""

    nick: str
    user_len: int = DEFAULT_USER_LEN
    host_len: int = DEFAULT_HOST_LEN

    def text_bytes(self, target: str) -> int:
        # ":nick!user@host PRIVMSG target :text\r\n"
        overhead = (1 + len(self.nick.encode()) + 1 + self.user_len + 1 + self.host_len +
                    len(" PRIVMSG ") + len(target.encode()) + len(" :") + 2)
        return LINE_LIMIT - overhead


NICK_MAX = 30  # the longest nick IrcConfig accepts (config.IRC_NICK): ours, or a person's


def fixed_width(target: str) -> int:
    """Bytes of text in each line to `target`, whatever the connection: the server's prefix
    taken at its worst (a nick of NICK_MAX, a DEFAULT_USER_LEN user, a DEFAULT_HOST_LEN host),
    and a person's nick (which may change between sends) at NICK_MAX. A message is resumed
    at line N after a restart or a nick change, so line N must always be the same text."""
    room = target if is_channel(target) else "x" * NICK_MAX
    return LineBudget("x" * NICK_MAX).text_bytes(room)


def choice_line(msg: Outbound) -> str:
    """The choices as one compact line ("Answer with !1 Apples · !2 Pears, or the word."),
    numbered as the core counts them; whole-command choices read "Yes: !rsvp ev yes". One
    line, so it fits on every page of a long message: the choices are never out of sight."""
    if not msg.choices:
        return ""
    numbered = [f"!{n} {choice.label}" for n, choice in enumerate(msg.choices, 1)
                if not is_command_choice(choice.key)]
    commands = [f"{choice.label}: {choice.key}" for choice in msg.choices
                if is_command_choice(choice.key)]
    words = words_of(msg)
    parts = [words.t("Answer with {choices}, or the word.", choices=" · ".join(numbered))
             ] if numbered else []
    return " · ".join(parts + commands)


MORE = "more"  # the word that shows the next page ("!more"); see IrcAdapter._page_asked


# A line that goes on a sentence the line before broke off: content files wrap their prose
# at ~90 characters, and on IRC every line is a message of its own ("... as if you" / "knew
# nothing."). Lists, indented lines and lines after a full stop or a colon stay lines.
_WRAPPED_MIN = 50
_ENDS_A_LINE = tuple(".!?:;)]}\"'")
_GOES_ON = re.compile(r"^(?![-*+•>#|]|\d+[.)]\s)[\w\"'`(]")


def _paragraphs(text: str, formatting: bool) -> list[list[str]]:
    """The text's lines grouped at blank lines (a project card, a step): pages break
    between groups where they can. A line wrapped mid-sentence is joined to the line it
    goes on from (split again to the line width later)."""
    groups: list[list[str]] = [[]]
    for part in _LINE_BREAKS.split(text):
        line = clean(part, formatting).rstrip()
        if not line.strip():
            if groups[-1]:
                groups.append([])
            continue
        group = groups[-1]
        if group and len(group[-1]) >= _WRAPPED_MIN and \
                not group[-1].endswith(_ENDS_A_LINE) and _GOES_ON.match(line):
            group[-1] = f"{group[-1]} {line}"
        else:
            group.append(line)
    return [g for g in groups if g]


def render_pages(msg: Outbound, width: int, max_lines: int,
                 formatting: bool = False) -> list[list[str]]:
    """The pages one outbound message becomes on IRC, each at most `max_lines` lines of at
    most `width` bytes: text (broken between paragraphs where one fits), a note for a file
    (IRC cannot carry one), and on every page the compact choice line. A page with more to
    come ends with how many lines are left and `!more`."""
    def split(line: str) -> list[str]:
        # Servers drop trailing spaces, and an empty PRIVMSG is an error: neither goes out.
        return [piece.rstrip() for piece in split_bytes(line, width) if piece.strip()]

    paragraphs = [[p for line in group for p in split(line)]
                  for group in _paragraphs(msg.text, formatting)]
    if msg.file is not None:
        paragraphs.append(split(clean(words_of(msg).t(
            "[{name} ({size} bytes) can't be sent on IRC; ask for it on Matrix or Telegram]",
            name=msg.file.name, size=len(msg.file.data)))))
    choices = split(clean(choice_line(msg), formatting)) if msg.choices else []
    body = [line for group in paragraphs for line in group]
    if len(body) + len(choices) <= max_lines:
        return [body + choices]
    room = max(1, max_lines - len(choices) - 1)  # a page with more to come has a footer
    pages: list[list[str]] = []
    page: list[str] = []
    queue = [list(group) for group in paragraphs]
    while queue:
        left = sum(len(g) for g in queue)
        if len(page) + left + len(choices) <= max_lines:
            pages.append(page + [line for g in queue for line in g])  # the last page
            page = []
            break
        group = queue[0]
        if len(page) + len(group) <= room:
            page += queue.pop(0)
        elif page and len(group) <= room:
            pages.append(page)  # the next paragraph fits whole on a page of its own
            page = []
        else:
            take = room - len(page)
            page += group[:take]
            del group[:take]
            pages.append(page)
            page = []
    if page:
        pages.append(page)
    result: list[list[str]] = []
    for index, lines in enumerate(pages):
        if index < len(pages) - 1:
            rest = sum(len(p) for p in pages[index + 1:])
            lines = lines + split(words_of(msg).tn("({n} more line: type !{more})",
                                                   "({n} more lines: type !{more})", rest,
                                                   more=MORE))
        result.append(lines + choices)
    return result


def render_lines(msg: Outbound, width: int, max_lines: int, formatting: bool = False) -> list[str]:
    """The lines of the message's first page (the outbox counts what it sent of these)."""
    return render_pages(msg, width, max_lines, formatting)[0]


def page_warning(text: str, max_lines: int) -> str | None:
    """Why a content text alone is too long for an IRC page, or None: past a page (less its
    footer and choice line) people on IRC read it in parts, typing !more."""
    lines = sum(len(split_bytes(line, fixed_width("x"))) for line in clean_lines(text))
    fits = max_lines - 2
    if lines <= fits:
        return None
    return (f"too long for IRC: {lines} lines there, where a page shows {fits} besides its "
            f"footer and choices (people read the rest on !more); shorten it or split it")
