"""Translated text on the wire (issue 20): a pseudo-locale, every message wrapped and made
longer with accented letters, goes through the IRC, Matrix and Telegram renderers without
breaking their splitting, buttons or HTML; right-to-left content keeps its isolates on
Matrix and Telegram."""

from __future__ import annotations

import gettext
import re
import string
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from adapters.irc.render import choice_line, fixed_width, render_pages
from adapters.matrix.render import ALLOWED_TAGS, render_content
from adapters.telegram.render import TELEGRAM_MAX, render, utf16_len
from bot.i18n import FSI, PDI, install, translator, uninstall
from bot.model import Choice, Network, Outbound, RoomRef
from tests.harness import Harness, make_config
from tests.ircservers import IrcServer
from tests.test_irc import BOT, IrcBot, irc_config, person, plain

__all__ = ["plain"]  # the ngIRCd fixture, shared with tests/test_irc.py

PSEUDO = "qps"
_ACCENTED = str.maketrans("aeiouyAEIOUYcnsCNS", "áéîöüýÁÉÎÖÜÝçñšÇÑŠ")


def pseudo(text: str) -> str:
    """Accented, wrapped in ⟦ ⟧ and about 40% longer; `{fields}` and `!commands` untouched,
    so the message still works."""
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(text):
        out.append(re.sub(r"(![a-z0-9_]+)|([^!]+)", lambda m: m.group(1) or
                          m.group(2).translate(_ACCENTED), literal))
        if field is not None:
            out.append("{" + field + (f"!{conversion}" if conversion else "") +
                       (f":{spec}" if spec else "") + "}")
    body = "".join(out).replace("{{", "{").replace("}}", "}") if "{" not in text else "".join(
        out)
    return f"⟦{body} {'~' * max(2, len(text) * 2 // 5)}⟧"


class Pseudo(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return pseudo(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return pseudo(msgid1 if n == 1 else msgid2)


@pytest.fixture
def pseudo_locale() -> Iterator[str]:
    install(PSEUDO, Pseudo())
    yield PSEUDO
    uninstall(PSEUDO)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag != "br":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open, f"</{tag}> closes nothing"
        assert self.open.pop() == tag, f"</{tag}> closes another tag"


def well_formed(markup: str) -> list[str]:
    parser = Tags()
    parser.feed(markup)
    parser.close()
    assert parser.open == [], parser.open
    return parser.tags


def check_on_every_network(msg: Outbound) -> None:
    # IRC: every line fits, every page fits, the choices on every page.
    for target, max_lines in (("#lumen", 6), ("ana", 10)):
        width = fixed_width(target)
        pages = render_pages(msg, width, max_lines)
        for page in pages:
            assert len(page) <= max_lines
            assert all(len(line.encode()) <= width for line in page)
            if msg.choices:
                assert page[-1] in choice_line(msg) or choice_line(msg).endswith(page[-1])
        if len(pages) > 1:
            assert "!more" in pages[0][-1 - (1 if msg.choices else 0)] or any(
                "!more" in line for line in pages[0])
    # Matrix: the only tags are the allowed ones, balanced; each choice is a list item.
    content = render_content(msg)
    tags = well_formed(content["formatted_body"])
    assert set(tags) <= ALLOWED_TAGS
    assert tags.count("li") == len(msg.choices)
    assert content["m.mentions"] == {} or msg.mention is not None
    # Telegram: every part within the limit, escaped, the buttons on the last part.
    parts = render(msg)
    for part in parts:
        assert utf16_len(part.html) <= TELEGRAM_MAX
        assert set(well_formed(part.html)) <= {"a"}
    assert [len(p.buttons) for p in parts] == [0] * (len(parts) - 1) + [len(msg.choices)]
    assert all(len(label) <= 60 for label, _ in parts[-1].buttons)


async def test_a_pseudo_locale_renders_on_all_three_networks(sqlite_url: str,
                                                              pseudo_locale: str) -> None:
    """The bot's own replies in the pseudo-locale, through each network's renderer."""
    config = make_config(sqlite_url, i18n={"default": pseudo_locale})
    async with Harness(config) as bot:
        sent = []
        for line in ("hello", "!help", "!frob", "!start", "!help", "99", "!language"):
            sent += await bot.send(bot.inbound("ada", line))
        shown = [s.msg for s in sent]
    assert any("⟦" in msg.text for msg in shown), [m.text for m in shown]
    assert any(msg.choices for msg in shown)
    long = Outbound(RoomRef(Network("x"), "ana"), "\n\n".join(m.text for m in shown) * 3,
                    shown[-1].choices or (Choice("a", pseudo("Apples")),), locale=PSEUDO)
    for msg in [*shown, long]:
        check_on_every_network(msg)
    # The adapters' own words follow the message's locale.
    ask = Outbound(RoomRef(Network("x"), "ana"), "?", (Choice("a", "Apples"),
                                                       Choice("p", "Pears")), locale=PSEUDO)
    assert "⟦" in render_content(ask)["body"]
    assert "<code>!1</code>" in render_content(ask)["formatted_body"]
    assert "⟦" in choice_line(ask)
    assert "!1 Apples" in choice_line(ask)


def test_right_to_left_content_is_isolated_on_matrix_and_telegram() -> None:
    """A Hebrew or Arabic name inside an English sentence keeps its isolates (FSI ... PDI),
    so the sentence around it keeps its order; overrides are still dropped."""
    name = "פרויקט שלום"
    text = translator("en").t("Join {name} today, {who}.", name=name, who="Ana")
    assert text == f"Join {FSI}{name}{PDI} today, Ana."
    msg = Outbound(RoomRef(Network("matrix"), "!r:x"), text + "\u202e!evil")
    content = render_content(msg)
    assert f"{FSI}{name}{PDI}" in content["body"]
    assert f"{FSI}{name}{PDI}" in content["formatted_body"]
    assert "\u202e" not in content["body"]
    [part] = render(msg)
    assert f"{FSI}{name}{PDI}" in part.html
    # An isolate without its pair (someone's own text) cannot run on into the next line.
    content = render_content(Outbound(msg.to, f"a{FSI}b\nc{PDI}d"))
    assert content["body"] == f"a{FSI}b{PDI}\ncd"


async def test_the_pseudo_locale_pages_on_a_real_irc_server(plain: IrcServer, sqlite_url: str,
                                                            pseudo_locale: str) -> None:
    """On ngIRCd: the suggestions, 40% longer in the pseudo-locale, still come in pages of
    at most ten lines, each ending with the (translated) count of lines left and the choice
    line; !more gives the next page."""
    eve = await person(plain.port, "eve")
    async with IrcBot(sqlite_url, irc_config(plain.port), i18n={"default": pseudo_locale}):
        for said in ("!start", "automation", "scripting"):
            eve.say(BOT, said)
            assert "⟦" in await eve.reply(BOT)
        eve.say(BOT, "python")
        pages = [(await eve.reply(BOT)).split("\n")]
        while "týpé !more)" in pages[-1][-2] and len(pages) < 6:  # "(N more lines: ...)"
            eve.say(BOT, "!more")
            pages.append((await eve.reply(BOT)).split("\n"))
        assert len(pages) >= 2
        for page in pages:
            assert len(page) <= 10
            assert page[-1] == pages[0][-1]  # the same choice line on every page
        assert pages[0][-1].startswith("⟦Áñšwér wîth !1 Pagebot · !2 ")
        assert pages[0][0] == pseudo("These projects fit you best:")
        assert any(line.startswith("* Lingo:") for page in pages for line in page)
    await eve.close()
