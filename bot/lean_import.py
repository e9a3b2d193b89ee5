"""Import a library with some of its own imports left out while it loads.

Some libraries import, at import, modules for features Wayfinder never uses (a command line,
a process pool, a proxy...), which then stay resident in every bot. `import_lean` imports
such a library with those modules either blocked (importing one raises ImportError, so the
library records it as not installed) or stood in for by a `NotLoaded` module (whose names
fail with a message saying why, when used). Right after the library has loaded, the blocked
and stood-in modules are importable again for whoever needs them. Where the library, or a
module to leave out, is loaded already, that one is left alone. A library that cannot load
without what was left out (a newer version needing it) is loaded whole instead: it costs the
memory, not the start.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from collections.abc import Iterable
from typing import NoReturn

log = logging.getLogger(__name__)


class _Missing:
    """A name taken from a stand-in (`from package import Name`): any use says why."""

    def __init__(self, name: str, why: str) -> None:
        self._name = name
        self._why = why

    def _fail(self) -> NoReturn:
        raise RuntimeError(f"{self._name} is not loaded inside Wayfinder ({self._why})")

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)  # what copy, pickle and hasattr ask of any object
        self._fail()

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        self._fail()


class NotLoaded(types.ModuleType):
    """Stands in for a module while a library loads: its names are placeholders that fail
    when used, saying why; names set on it (an exception class, say) are real."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(name, f"Not loaded: {why}")
        self.__why = why

    def __getattr__(self, name: str) -> _Missing:
        if name.startswith("__"):
            raise AttributeError(name)  # what the import system asks a module
        return _Missing(f"{self.__name__}.{name}", self.__why)


def stand_ins(names: Iterable[str], why: str) -> list[types.ModuleType]:
    """A NotLoaded module for each of `names` (a package and its submodules), each submodule
    set on its package as the import system does."""
    modules = {name: NotLoaded(name, why) for name in names}
    for name, module in modules.items():
        parent, _, child = name.rpartition(".")
        if parent in modules:
            setattr(modules[parent], child, module)
    return list(modules.values())


def import_lean(library: str, block: Iterable[str] = (),
                stand_in: Iterable[Iterable[types.ModuleType]] = ()) -> None:
    """Import `library` with each module of `block` unimportable and each group of
    `stand_in` (a package and its submodules, as `stand_ins` makes them) in place of the real
    ones; afterwards all are importable again. A module loaded already is not blocked, a
    group any of whose modules is loaded already is not stood in for, and a library loaded
    already is left as it is. If the library fails to load so, every module the attempt
    loaded is dropped (none stays half-initialised, bound to a stand-in) and it is imported
    again with nothing left out."""
    if library in sys.modules:
        return  # too late, or done already
    before = set(sys.modules)
    left_out: dict[str, types.ModuleType | None] = {
        name: None for name in block if name not in sys.modules}
    for group in stand_in:
        modules = list(group)
        if not any(module.__name__ in sys.modules for module in modules):
            left_out.update((module.__name__, module) for module in modules)
    sys.modules.update(left_out)  # type: ignore[arg-type]  # None: import raises ImportError
    try:
        importlib.import_module(library)
    except Exception as exc:
        for name in set(sys.modules) - before:
            del sys.modules[name]
        log.warning("%s could not load without %s (%s); loading it whole", library,
                    ", ".join(sorted(left_out)), exc)
    else:
        return
    finally:
        for name, module in left_out.items():
            if name in sys.modules and sys.modules[name] is module:
                del sys.modules[name]
    importlib.import_module(library)
