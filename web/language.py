"""A page's language: the one its visitor chose with a `?lang=CODE` link (remembered in a
cookie), else on the dashboard the one a logged-in person speaks with the bot (`!language`),
else the first of their browser's Accept-Language the community offers, else the community's
default ([i18n] languages and default, through services/public.py).

Every value read from the request is only ever compared against the offered languages
(`bot.i18n.normalize`): a hostile `lang`, cookie or header picks nothing and is never
written back.

The texts are the bot's gettext catalogs (bot/locale): Jinja2's i18n extension turns
`{% trans %}` blocks into calls of `gettext` and `ngettext`, and `_()` calls look `gettext`
up too, in the template's context. Each render is given its own pair (`context()`), bound
to the page's Translator: the Environment is shared by every request served at once, so
installing translations on it (`install_gettext_translations`) would let one visitor's
page render in another's language half way through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from bot.i18n import Translator, language_name, normalize, translator

COOKIE = "wayfinder_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# A language tag's shape (BCP 47's, loosely: "es", "pt-BR", "pt_BR", "zh-Hant-TW"); anything
# else is no language, however it starts.
TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")
ACCEPTED_MAX = 20  # Accept-Language entries read
STORED = "person_language"  # request.state's name for it


@dataclass(frozen=True)
class PageLanguage:
    """The language a page is rendered in, and whether this request chose it (`?lang=`)."""

    code: str  # an offered locale, as the catalogs name it: "pt_BR"
    translator: Translator
    chosen: bool = False

    @property
    def tag(self) -> str:
        """As HTML's lang attribute wants it (BCP 47): "pt-BR"."""
        return self.code.replace("_", "-")

    @property
    def dir(self) -> str:
        return "rtl" if self.translator.rtl else "ltr"


def accepted(header: str) -> list[str]:
    """Accept-Language's language ranges, the most wanted first ("q=0" ones dropped)."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:ACCEPTED_MAX]):
        code, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if code.strip() and weight > 0:
            ranked.append((-weight, index, code.strip()))
    return [code for _, _, code in sorted(ranked)]


def offered_language(code: str, offered: tuple[str, ...]) -> str | None:
    """The offered language `code` names ("pt-br", "pt" and "pt_BR" name pt_BR), or None
    (for anything not shaped like a language tag too)."""
    return normalize(code, offered) if TAG.fullmatch(code) else None


def choose(asked: str, cookie: str, accept_language: str, offered: tuple[str, ...],
           default: str, stored: str = "") -> tuple[str, bool]:
    """The page's language and whether `asked` (the `lang` parameter) named it. `stored`:
    the logged-in person's language with the bot."""
    if (found := offered_language(asked, offered)) is not None:
        return found, True
    for code in (cookie, stored):
        if (found := offered_language(code, offered)) is not None:
            return found, False
    for code in accepted(accept_language[:1000]):
        if (found := offered_language(code, offered)) is not None:
            return found, False
    return default, False


def page_language(request: Request) -> PageLanguage:
    """The request's page language, worked out once per request."""
    known = getattr(request.state, "page_language", None)
    if isinstance(known, PageLanguage):
        return known
    public = request.app.state.site.public
    default = public.default_language()
    code, chosen = choose(request.query_params.get("lang", ""), request.cookies.get(COOKIE, ""),
                          request.headers.get("accept-language", ""), public.languages(),
                          default, str(getattr(request.state, STORED, "")))
    found = PageLanguage(code, translator(code, default), chosen)
    request.state.page_language = found
    return found


def know_stored(request: Request, code: str) -> None:
    """The logged-in person's language with the bot, for this request's pages (before the
    first is rendered)."""
    setattr(request.state, STORED, code)


def remember(response: Response, language: PageLanguage) -> None:
    """The chosen language in a cookie; and caches told the page depends on both."""
    if language.chosen:
        response.set_cookie(COOKIE, language.code, max_age=COOKIE_MAX_AGE, httponly=True,
                            samesite="lax", path="/")
    response.headers.append("vary", "Accept-Language, Cookie")


def links(request: Request, offered: tuple[str, ...]) -> list[dict[str, str]]:
    """This page in each offered language: its own name, and the address with `lang` set
    (the rest of the query, such as the events form's, kept)."""
    out = []
    for code in offered:
        url = request.url.include_query_params(lang=code)
        out.append({"code": code, "tag": code.replace("_", "-"), "name": language_name(code),
                    "href": f"{url.path}?{url.query}"})
    return out


def context(request: Request, language: PageLanguage) -> dict[str, Any]:
    """What every template is rendered with for the page's language: `gettext` and
    `ngettext` as the i18n extension calls them in newstyle (the values filled in, and
    escaped, by the function: the message itself is ours and may hold markup)."""
    tr = language.translator

    def gettext(message: str, /, **values: Any) -> Markup:
        return Markup(tr.t(message)) % values

    def ngettext(singular: str, plural: str, n: int, /, **values: Any) -> Markup:
        values.setdefault("num", n)
        return Markup(tr.tn(singular, plural, n)) % values

    return {"gettext": gettext, "ngettext": ngettext, "language": language,
            "languages": links(request, request.app.state.site.public.languages())}
