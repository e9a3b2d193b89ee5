"""Community content, loaded from the content folder's TOML files and validated.

Organizers edit these files without a release, so every problem is reported at once, each
with the file, the key and the reason. The core reads and checks files; what the files mean
belongs to the features: each declares a ContentPart (the files it owns, and how they become
its typed view), and a handler reads that view with `turn.content.of(ItsContent)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.i18n import N_, LocalizedStr, TranslatableError, missing_languages, translated_fields
from bot.text import unseen_characters
from bot.tomlfile import TomlFileError, read_toml

IDENTITY_PATTERN = re.compile(r"^[a-z]+:\S+$")
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


def check_identities(value: tuple[str, ...]) -> tuple[str, ...]:
    """A field validator: every value is "network:id". Its refusal is a TranslatableError, so
    a chat command that takes identities says it in the person's language."""
    wrong = [identity for identity in value
             if not IDENTITY_PATTERN.match(identity) or unseen_characters(identity)]
    if wrong:
        shown = ", ".join(repr(identity) for identity in wrong)
        if len(wrong) == 1:
            raise TranslatableError(N_("{shown} is not \"network:id\" (the network's name in "
                                       "lower case, a colon, the person's id there; no spaces)"),
                                    shown=shown)
        raise TranslatableError(N_("{shown} are not \"network:id\" (the network's name in lower "
                                   "case, a colon, the person's id there; no spaces)"),
                                shown=shown)
    return value


class Strict(BaseModel):
    """A content file's model: unknown keys are problems, loaded values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


@dataclass(frozen=True)
class ContentProblem:
    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '(file)'}: {self.reason}"


class ContentError(Exception):
    def __init__(self, problems: list[ContentProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
# A check of one text in a content file, e.g. whether it fits a network's message: a reason
# to warn about it, or None. Warnings do not stop content from loading.
TextCheck = Callable[[str], str | None]


class ContentFolder:
    """The folder being loaded, for a part's load function: its files, read and validated,
    and the problems found so far (every one is reported, not only the first)."""

    def __init__(self, root: Path, text_check: TextCheck | None = None) -> None:
        self.root = root
        self.problems: list[ContentProblem] = []
        self.warnings: list[ContentProblem] = []  # worth a look, not wrong
        self.text_check = text_check
        # Texts written with translations, by file and key: `content check` warns about the
        # languages they lack.
        self.translated: list[tuple[str, str, LocalizedStr]] = []
        # Several parts may read one file (one file may hold keys of several features): it
        # is read once, and a problem with it is reported once.
        self._read: dict[Path, dict[str, Any] | None] = {}

    def rel(self, path: Path) -> str:
        """How problems name a file: relative to the folder's parent ("content/x.toml")."""
        return str(path.relative_to(self.root.parent))

    def files(self, pattern: str) -> list[Path]:
        return sorted(self.root.glob(pattern))

    def problem(self, file: str, key: str, reason: str) -> None:
        self.problems.append(ContentProblem(file, key, reason))

    def warn(self, file: str, key: str, reason: str) -> None:
        self.warnings.append(ContentProblem(file, key, reason))

    def _check_texts(self, value: Any, path: Path, loc: tuple[int | str, ...]) -> None:
        """Every text of a file's table through `text_check`, each warning with its key."""
        assert self.text_check is not None
        if isinstance(value, str):
            reason = self.text_check(value)
            if reason:
                self.warn(self.rel(path), _loc(loc), reason)
        elif isinstance(value, dict):
            for key, item in value.items():
                self._check_texts(item, path, (*loc, str(key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._check_texts(item, path, (*loc, index))

    def read(self, path: Path) -> dict[str, Any] | None:
        """A TOML file's table (shared by the parts that read it: do not change it), or None
        with the problem noted."""
        if path not in self._read:
            self._read[path] = self._read_once(path)
        return self._read[path]

    def _read_once(self, path: Path) -> dict[str, Any] | None:
        try:
            return read_toml(path)
        except TomlFileError as exc:
            self.problem(self.rel(path), exc.key, exc.problem)
        except OSError as exc:
            self.problem(self.rel(path), "", f"cannot read: {exc.strerror}")
        return None

    def validate(self, model: type[M], data: dict[str, Any], path: Path,
                 ignore: tuple[str, ...] = ()) -> M | None:
        """The model, or None with a problem per error; `ignore` drops tags (a discriminated
        union's kind) from the keys named."""
        try:
            valid = model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if p not in ignore)
                message = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    message = "unknown key"
                self.problem(self.rel(path), _loc(loc), message)
            return None
        if self.text_check is not None:
            self._check_texts(data, path, ())
        self.translated += [(self.rel(path), key, text) for key, text in translated_fields(valid)]
        return valid


@dataclass(frozen=True)
class ContentPart(Generic[T]):
    """What a feature owns in the content folder: its files (globs, relative to the folder)
    and how they become its typed view. `load` notes problems on the folder (cross-file
    checks included) and returns the view, which is kept only if no part had a problem."""

    kind: type[T]
    files: tuple[str, ...]
    load: Callable[[ContentFolder], T]
    describe: Callable[[T], str] = lambda _view: ""  # a short count for `content check`


@dataclass(frozen=True)
class Content:
    """One version of the whole content folder: every feature's view, by its type."""

    parts: Mapping[type, object] = field(default_factory=dict)
    warnings: tuple[ContentProblem, ...] = ()  # found by a text check (`content check`)
    translated: tuple[tuple[str, str, LocalizedStr], ...] = ()  # see ContentFolder.translated

    def of(self, kind: type[T]) -> T:
        value = self.parts.get(kind)
        if value.__class__ is kind:  # asked several times a turn: the exact type, no isinstance
            return value
        if not isinstance(value, kind):
            raise LookupError(f"no content part {kind.__name__} is loaded")
        return value

    def missing_translations(self, languages: Sequence[str]) -> list[ContentProblem]:
        """A warning for each text written with translations that lacks one of `languages`
        (it falls back to the default language there)."""
        found = []
        for file, key, text in self.translated:
            lacking = missing_languages(text, languages)
            if lacking:
                found.append(ContentProblem(file, key, f"no translation for {', '.join(lacking)}"
                                            " (the default language's text is shown)"))
        return found

    def describe(self, parts: Sequence[ContentPart[Any]]) -> str:
        said = [part.describe(self.parts[part.kind]) for part in parts if part.kind in self.parts]
        return ", ".join(s for s in said if s)


def load_folder(root: Path, parts: Sequence[ContentPart[Any]],
                text_check: TextCheck | None = None) -> Content:
    """Load and check a content folder with every part; raise ContentError listing every
    problem. With `text_check`, every text of every file validated is checked too, and what
    it says is in the Content's `warnings`."""
    if not root.is_dir():
        raise ContentError([ContentProblem(str(root), "", "content folder not found")])
    folder = ContentFolder(root, text_check)
    loaded = {part.kind: part.load(folder) for part in parts}  # in the features' order
    if folder.problems:
        raise ContentError(folder.problems)
    return Content(loaded, tuple(folder.warnings), tuple(folder.translated))
