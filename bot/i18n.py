"""Bot text in each person's language.

Messages are gettext message ids in English (the source language), marked where they are
written: `turn.t("...")` and `turn.tn(singular, plural, n)` in a handler, `N_("...")` for a
text declared ahead of any turn (a command's summary, a table of words), translated where it
is shown. Catalogs live in bot/locale/<lang>/LC_MESSAGES/wayfinder.po, compiled beside them
to .mo files that the package ships (`python -m bot.i18n compile`; a test keeps them in step).

The standard library's gettext reads the compiled catalogs, so a bot that only ever speaks
English loads nothing more; Babel is imported only to format a number or a date for a
locale, and by the catalog tool.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

DOMAIN = "wayfinder"
LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE = "en"  # the language message ids are written in
# Each person's language, a core key in their stored state (like the private chats): the one
# they chose with !language, and the one their network said their client uses.
LOCALE_KEY = "locale"

FSI, PDI = "\u2068", "\u2069"  # first strong isolate ... pop directional isolate
_RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "yi", "ps", "sd", "ug", "dv", "ckb"})


_extra: dict[str, stdlib_gettext.NullTranslations] = {}  # installed: install()


def N_(message: str) -> str:  # noqa: N802  # gettext's name for it, which tools know
    """Mark a text for the catalog where it is declared; it is translated where it is shown
    (`turn.t(value)`)."""
    return message


@lru_cache(maxsize=1)  # every turn asks (the languages offered); install() clears it
def shipped() -> tuple[str, ...]:
    """The languages the bot speaks: English, every compiled catalog in the package, and any
    installed (a test's pseudo-locale)."""
    return (*_compiled(), *(code for code in _extra if code not in _compiled()))


@lru_cache(maxsize=1)
def _compiled() -> tuple[str, ...]:
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE, *(code for code in found if code != SOURCE))


def normalize(code: str, among: Iterable[str] | None = None) -> str | None:
    """The language of `among` (the shipped ones by default) that `code` names, or None:
    "pt-br" and "pt" are "pt_BR", "es_MX" is "es", "EN" is "en"."""
    known = tuple(among if among is not None else shipped())
    parts = code.strip().replace("-", "_").split("_")
    if not parts[0].isalpha() or not 2 <= len(parts[0]) <= 3:
        return None
    wanted = "_".join([parts[0].lower(), *(p.upper() if len(p) == 2 else p.title()
                                          for p in parts[1:] if p)])
    exact = {k.lower(): k for k in known}
    if wanted.lower() in exact:
        return exact[wanted.lower()]
    language = parts[0].lower()
    for candidate in known:  # the language alone, or another region of it
        if candidate.split("_")[0].lower() == language:
            return candidate
    return None


# Each language's own name for itself, as !language lists them (Babel knows more, but loading
# its data for a list of names would cost every start).
NAMES = {"en": "English", "es": "español", "pt_BR": "português do Brasil", "qps": "pseudo"}


def language_name(code: str) -> str:
    return NAMES.get(code, code)


def install(code: str, translations: stdlib_gettext.NullTranslations) -> None:
    """Speak `code` with catalogs made elsewhere (a test's pseudo-locale)."""
    _extra[code] = translations
    _forget_catalogs()


def uninstall(code: str) -> None:
    _extra.pop(code, None)
    _forget_catalogs()


def _forget_catalogs() -> None:
    shipped.cache_clear()
    _translations.cache_clear()
    translator.cache_clear()  # its translators hold the catalogs they looked up


@lru_cache(maxsize=32)
def _translations(code: str) -> stdlib_gettext.NullTranslations:
    if code in _extra:
        return _extra[code]
    if code == SOURCE:
        return stdlib_gettext.NullTranslations()
    return stdlib_gettext.translation(DOMAIN, LOCALE_DIR, [code], fallback=True)


# No character below Hebrew's block is right-to-left (the first is U+05BE).
FIRST_RTL = "\u0590"


def has_rtl(text: str) -> bool:
    """Whether `text` holds a right-to-left letter (Hebrew, Arabic, ...). Every value of every
    reply is asked: one scan in C settles most texts, as a look-up per character cost more
    than the rest of a turn (bench.core); an ASCII text (most) needs no scan at all, as
    CPython keeps that fact on the string."""
    if text.isascii() or max(text) < FIRST_RTL:
        return False
    return _has_rtl(text)


@lru_cache(maxsize=4096)
def _has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


def isolate(text: str, rtl_locale: bool = False) -> str:
    """`text` between bidi isolates when its direction may differ from the message around it,
    so an Arabic project name does not reorder the English sentence it stands in (and the
    other way round). Text that needs none is returned unchanged."""
    if text and (rtl_locale or has_rtl(text)) and not text.startswith(FSI):
        return f"{FSI}{text}{PDI}"
    return text


class LocalizedStr(str):
    """A content text that may carry translations: written as a text, or as a table by
    language (`summary = { en = "...", es = "..." }`, the first being the default). As a str
    it is the default text, so code that does not ask for a language reads that."""

    translations: Mapping[str, str]

    def __new__(cls, default: str, translations: Mapping[str, str] | None = None) -> Self:
        made = super().__new__(cls, default)
        made.translations = dict(translations or {})
        return made

    def in_language(self, code: str, fallback: str = SOURCE) -> str:
        """The text in `code`, else in its language (pt for pt_BR), else in `fallback`, else
        the default."""
        if not self.translations:
            return str(self)
        for wanted in (code, code.split("_")[0], fallback, fallback.split("_")[0]):
            for key, text in self.translations.items():
                if key.replace("-", "_").lower() == wanted.lower():
                    return text
        return str(self)

    @classmethod
    def parse(cls, value: object) -> LocalizedStr:
        if isinstance(value, LocalizedStr):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, dict) and value and all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            wrong = [k for k in value if normalize(k, [k]) is None]
            empty = [k for k, text in value.items() if not text.strip()]
            if empty:
                raise ValueError(f"the {', '.join(map(repr, empty))} text is empty")
            if wrong:
                raise ValueError(f"{', '.join(map(repr, wrong))} is not a language code "
                                 "(write it like en, es or pt_BR)")
            return cls(next(iter(value.values())), value)
        raise ValueError('write a text, or a table of texts by language: '
                         '{ en = "...", es = "..." }')

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any,
                                     handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema  # only content models, never at startup

        return core_schema.no_info_plain_validator_function(
            cls.parse, serialization=core_schema.plain_serializer_function_ser_schema(
                _serialized))


def _serialized(value: str) -> object:
    translations = getattr(value, "translations", None)
    return dict(translations) if translations else str(value)


Localized = LocalizedStr  # the annotation content models use for a translatable text


def translated_fields(value: object, where: str = "") -> Iterable[tuple[str, LocalizedStr]]:
    """Every translatable text with translations in a loaded content model, with its key
    ("steps[2].body"), for `content check`."""
    if isinstance(value, LocalizedStr):
        if value.translations:
            yield where, value
        return
    fields: Mapping[str, object] | None = None
    model_fields = getattr(type(value), "model_fields", None)
    if isinstance(model_fields, dict):
        fields = {name: getattr(value, name) for name in model_fields}
    elif isinstance(value, dict):
        fields = {str(k): v for k, v in value.items()}
    if fields is not None:
        for name, item in fields.items():
            yield from translated_fields(item, f"{where}.{name}" if where else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from translated_fields(item, f"{where}[{index}]")


def missing_languages(text: LocalizedStr, wanted: Iterable[str]) -> list[str]:
    have = {k.replace("-", "_").lower() for k in text.translations}
    return [code for code in wanted if code.lower() not in have]


class _Values(dict[str, Any]):
    """Format values, with a missing one left as it was written instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Translator:
    """Texts, numbers and dates in one locale, falling back to English message by message."""

    locale: str = SOURCE
    fallback: str = SOURCE  # the community's default language, for content translations


    @cached_property  # asked for every value of every message
    def rtl(self) -> bool:
        return self.locale.split("_")[0] in _RTL_LANGUAGES

    def _catalog(self) -> stdlib_gettext.NullTranslations:
        return _translations(self.locale)

    @cached_property  # every text of every turn: one bound method, not a cache look-up each
    def _gettext(self) -> Callable[[str], str] | None:
        catalog = self._catalog()
        # None for the source language's empty catalog, which returns every message as it
        # is: most turns speak it, and skip the call.
        if type(catalog) is stdlib_gettext.NullTranslations and \
                getattr(catalog, "_fallback", None) is None:
            return None
        return catalog.gettext

    def t(self, message: str, /, **values: Any) -> str:
        """`message` in this locale, its `{name}` fields filled from `values`."""
        gettext = self._gettext
        text = message if gettext is None else gettext(message)
        return self._fill(text, message, values) if values else text

    def tn(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The form for `n` in this locale ("1 second", "2 seconds"); `{n}` is `n`."""
        text = self._catalog().ngettext(singular, plural, n)
        return self._fill(text, singular if n == 1 else plural, {"n": n, **values})

    def local(self, text: str) -> str:
        """A content text in this locale: its own translation; else, for a text the code
        ships (a default written with N_), the catalog's; else the default language's."""
        if isinstance(text, LocalizedStr):
            shown = text.in_language(self.locale, self.fallback)
            if self.locale != SOURCE and not text.translations:
                shown = self._catalog().gettext(shown)
            return isolate(shown, self.rtl)
        return isolate(text, self.rtl) if isinstance(text, str) else text

    def _fill(self, text: str, source: str, values: Mapping[str, Any]) -> str:
        if not values:
            return text
        rtl = self.rtl
        shown = _Values()
        for key, value in values.items():
            if value.__class__ is str and not rtl:  # most values: as `local`, three calls fewer
                # isascii is a flag CPython keeps on the string: no scan for most values.
                shown[key] = (value if value.isascii() or max(value) < FIRST_RTL
                              else isolate(value))
            else:
                shown[key] = self.local(value) if isinstance(value, str) else value
        try:
            return text.format_map(shown)  # str's own, in C: string.Formatter is Python
        except (ValueError, IndexError, AttributeError, TypeError):
            # A translation with a broken field: the English text rather than no answer.
            return source.format_map(shown)

    # Numbers and dates: Babel, loaded the first time one is formatted.
    def format_number(self, value: float) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=self._babel_locale()))

    def format_datetime(self, value: datetime, pattern: str) -> str:
        """`value` by the LDML `pattern` ("EEE dd MMM, HH:mm"), itself a message translators
        may reorder, with day and month names in this locale."""
        from babel.dates import format_datetime

        return str(format_datetime(value, self.t(pattern), tzinfo=value.tzinfo,
                                   locale=self._babel_locale()))

    def format_date(self, value: date, pattern: str) -> str:
        from babel.dates import format_date

        return str(format_date(value, self.t(pattern), locale=self._babel_locale()))

    def format_time(self, value: time | datetime, pattern: str) -> str:
        from babel.dates import format_time

        tz = value.tzinfo if isinstance(value, datetime) else None
        return str(format_time(value, self.t(pattern), tzinfo=tz, locale=self._babel_locale()))

    def _babel_locale(self) -> str:
        # A shipped catalog's language, which Babel knows; an installed one (a test's
        # pseudo-locale) may be no locale Babel has data for: English there.
        return self.locale if self.locale in _compiled() else SOURCE


@lru_cache(maxsize=64)
def translator(locale: str = SOURCE, fallback: str = SOURCE) -> Translator:
    return Translator(locale, fallback)


ENGLISH = translator()


class TranslatableError(ValueError):
    """Why a value was refused, for a person to read in their language: a message id marked
    with N_ and its values, where a value may be a function of the Translator (a duration said
    in words). As a str (a config file's problem, the command line) it is English."""

    def __init__(self, message: str, /, **values: Any) -> None:
        self.message = message
        self.values = values
        super().__init__(self.told(ENGLISH))

    def told(self, tr: Translator) -> str:
        return tr.t(self.message, **{name: value(tr) if callable(value) else value
                                     for name, value in self.values.items()})


def reason(exc: BaseException, tr: Translator) -> str:
    """Why a value was refused (a ValueError), in `tr`'s language where it carries its text's
    id, else as it was written."""
    return exc.told(tr) if isinstance(exc, TranslatableError) else str(exc)
