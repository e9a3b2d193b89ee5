"""Reading an organizer's TOML file defensively: size, encoding and nesting are checked before
anything reads the values, so a bad file is one clear problem and never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 1024 * 1024  # content and config are hand-written; 1 MiB is far above any
MAX_DEPTH = 16  # tables and arrays inside each other; the demo content uses 4
MAX_TEXT_CHARS = 20_000  # one value is at most a long workshop step, never a whole book


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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise TomlFileError(f"nested more than {MAX_DEPTH} levels deep") from None
    _check_values(data, "", 1)
    return data


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
