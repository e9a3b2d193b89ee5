"""The message catalogs: extract the marked texts, bring the translations up to date, compile.

    python -m bot.catalogs extract   # bot/locale/wayfinder.pot from the code
    python -m bot.catalogs update    # each language's .po gains the new ids (and drops the gone)
    python -m bot.catalogs compile   # each .po to the .mo the bot reads (shipped in the package)
    python -m bot.catalogs check     # exit 1 if any of the three would change something

The compiled catalogs are committed, so an editable install and the wheel speak every
language without a build step; tests/test_i18n.py fails when they are behind the sources.
Babel does the work; this module is only for developers and tests, never loaded by the bot.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALE_DIR

ROOT = LOCALE_DIR.parent.parent
SOURCES = ("bot", "adapters", "flows", "services", "web")  # what people read comes from these
TEMPLATES = ("web/templates",)  # Jinja2 pages: {% trans %} blocks and _() calls
# The marking functions: turn.t / translator.t (one message), tn (singular, plural), N_;
# in a template, gettext (a {% trans %} block or _()) and ngettext ({% pluralize %}).
KEYWORDS: dict[str, tuple[int, ...]] = {"t": (1,), "tn": (1, 2), "N_": (1,)}
TEMPLATE_KEYWORDS: dict[str, tuple[int, ...]] = {"_": (1,), "gettext": (1,),
                                                 "ngettext": (1, 2)}
# As web/app.py renders them: newstyle gettext, whitespace in a block collapsed.
TEMPLATE_OPTIONS = {"trimmed": "true", "newstyle_gettext": "true", "trim_blocks": "true",
                    "lstrip_blocks": "true"}
POT = LOCALE_DIR / f"{DOMAIN}.pot"
COMMENT_TAGS = ("Translators:",)
STEADY = datetime(2026, 11, 29, tzinfo=UTC)


def _files() -> Iterator[Path]:
    for folder in SOURCES:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _templates() -> Iterator[Path]:
    for folder in TEMPLATES:
        yield from sorted((ROOT / folder).rglob("*.html"))


def _found(path: Path) -> Iterator[tuple[Any, ...]]:
    """What Babel's extractor finds in a Python file or a template, and its keywords."""
    with path.open("rb") as handle:
        if path.suffix == ".html":
            from jinja2.ext import babel_extract

            found: Any = babel_extract(handle, tuple(TEMPLATE_KEYWORDS), list(COMMENT_TAGS),
                                       TEMPLATE_OPTIONS)
            for item in found:
                yield (*item, TEMPLATE_KEYWORDS)
        else:
            for item in extract_python(handle, dict.fromkeys(KEYWORDS), COMMENT_TAGS, {}):
                yield (*item, KEYWORDS)


def extract() -> Catalog:
    """Every message id marked in the code and the web pages' templates, with where it is
    used."""
    catalog = Catalog(project="wayfinder", domain=DOMAIN, fuzzy=False,
                      msgid_bugs_address="", copyright_holder="Wayfinder contributors")
    for path in (*_files(), *_templates()):
        where = str(path.relative_to(ROOT))
        for lineno, funcname, messages, comments, keywords in _found(path):
            spec = keywords.get(str(funcname or ""))
            if spec is None:
                continue
            args = messages if isinstance(messages, tuple) else (messages,)
            texts = [args[i - 1] if i - 1 < len(args) else None for i in spec]
            strings = [t for t in texts if isinstance(t, str) and t]
            if len(strings) != len(texts):
                continue  # a variable: its value was marked where it was written
            msgid: str | tuple[str, str] = (strings[0] if len(strings) == 1
                                            else (strings[0], strings[1]))
            flags = ("python-brace-format",) if "{" in strings[0] else ()
            catalog.add(msgid, None, [(where, lineno)], auto_comments=comments,
                        flags=flags)
    return catalog


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    # No dates or line numbers: a catalog changes only when its messages do.
    write_po(out, catalog, width=100, omit_header=False, sort_output=False,
             include_lineno=False, ignore_obsolete=True, include_previous=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _steady(catalog: Catalog) -> Catalog:
    """Dates in the header would change every file on every run."""
    catalog.creation_date = catalog.revision_date = STEADY
    return catalog


def planned() -> dict[Path, bytes]:
    """What each catalog file should hold given the code and the translations."""
    template = _steady(extract())
    files = {POT: _po_bytes(template)}
    for code in languages():
        current = read(po_path(code), code)
        current.update(template, no_fuzzy_matching=True)
        _steady(current)
        files[po_path(code)] = _po_bytes(current)
        files[po_path(code).with_suffix(".mo")] = _mo_bytes(current)
    return files


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    files = planned()
    wanted = {"extract": {POT}, "update": {p for p in files if p.suffix == ".po"},
              "compile": {p for p in files if p.suffix == ".mo"}}.get(command, set(files))
    stale = [p for p in sorted(wanted) if not p.is_file() or p.read_bytes() != files[p]]
    if command == "check":
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: python -m bot.catalogs all")
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
