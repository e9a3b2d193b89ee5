"""Reading an organizer's TOML file defensively: size, encoding and nesting are checked before
anything reads the values, so a bad file is one clear problem and never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 1024 * 1024  # content and config are hand-written; 1 MiB is far above any
MAX_DEPTH = 16  # tables and arrays inside each other; the demo content uses 4
MAX_TEXT_CHARS = 20_000  # one value is at most a long page of text, never a book


class TomlFileError(ValueError):
    """Why a file cannot be used, in words for the organizer; `key` names the value if one."""

    def __init__(self, problem: str, key: str = "") -> None:
        self.problem, self.key = problem, key
        super().__init__(problem)


def read_toml(path: Path) -> dict[str, Any]:
    """PATH's table, or TomlFileError: too large, not UTF-8, not TOML, nested too deeply, or
    a value too long to send; OSError when it cannot be read."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise TomlFileError(f"the file is larger than {MAX_FILE_BYTES // 1024} KiB; split it or "
                            "shorten it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise TomlFileError(f"not UTF-8 text (line {line}); save it as UTF-8") from None
    if _bracket_depth(text) > MAX_DEPTH:
        # Refused before parsing: tomllib recurses per level, and a RecursionError deep in
        # the interpreter can leave its recursion count off (CPython 3.11 then fails later,
        # unrelated compiles with "AST constructor recursion depth mismatch").
        raise TomlFileError(f"nested more than {MAX_DEPTH} levels deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"not valid TOML: {exc}") from None
    _check_values(data, "", 1)
    return data


_QUOTES = ('"""', "'''", '"', "'")


def _bracket_depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings and comments (a table header such as
    [[regions]] counts 2)."""
    depth = deepest = 0
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "#":
            newline = text.find("\n", at)
            at = end if newline < 0 else newline
            continue
        elif char in "\"'":
            quote = next(q for q in _QUOTES if text.startswith(q, at))
            at = _string_end(text, at + len(quote), quote)
            continue
        at += 1
    return deepest


def _string_end(text: str, at: int, quote: str) -> int:
    """Where the string that opened with `quote` before `at` ends (after its closing quote)."""
    escapes = quote[0] == '"'
    while at < len(text):
        if escapes and text[at] == "\\":
            at += 2
            continue
        if text.startswith(quote, at):
            return at + len(quote)
        if len(quote) == 1 and text[at] == "\n":
            return at  # an unclosed one-line string: tomllib will say so
        at += 1
    return at


def _check_values(value: object, key: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TomlFileError(f"nested more than {MAX_DEPTH} levels deep", key)
    if isinstance(value, dict):
        for name, inner in value.items():
            _check_values(inner, f"{key}.{name}" if key else str(name), depth + 1)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _check_values(inner, f"{key}[{index}]", depth + 1)
    elif isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise TomlFileError(f"{len(value):,} characters; at most {MAX_TEXT_CHARS:,} fit in a "
                            "value", key)
