"""Architecture: adapters, flows and storage import from bot, never from each other; services
sit on top (bot, flows, storage) and only the command line and the web pages import them."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("adapters", "flows", "storage")
# The composition root: app.py wires features and storage, wiring.py the networks.
COMPOSITION_ROOT = {ROOT / "bot" / "app.py", ROOT / "bot" / "wiring.py"}
NETWORK_NAME = re.compile(r"(?<![a-z])(irc|matrix|telegram)", re.IGNORECASE)
CLI = ROOT / "bot" / "cli.py"
CLI_REGISTRY = ROOT / "flows" / "cli.py"  # the features' commands, for bot/cli.py
SERVICES = "services"
PACKAGES = ("bot", *LAYERS, "bench")  # tests may call services too


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def own_records(path: Path) -> str | None:
    """storage/<feature>.py may import its own feature's records, and only those."""
    if path.parent == ROOT / "storage" and (ROOT / "flows" / path.stem / "records.py").exists():
        return f"flows.{path.stem}.records"
    return None


def test_layers_never_import_each_other() -> None:
    problems = []
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            wrong = imported_packages(path) & (set(LAYERS) - {layer})
            if layer == "storage" and wrong == {"flows"}:
                allowed = own_records(path)
                flows = {m for m in imported_modules(path) if m.split(".")[0] == "flows"}
                wrong = flows - {allowed}
            if wrong:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert problems == []


def test_a_storage_module_imports_only_its_own_features_records() -> None:
    assert own_records(ROOT / "storage" / "events.py") == "flows.events.records"
    assert own_records(ROOT / "storage" / "writer.py") is None
    importing = {path.stem for path in (ROOT / "storage").glob("*.py")
                 if "flows" in imported_packages(path)}
    assert {"account", "events", "mentoring", "path"} <= importing
    assert all(own_records(ROOT / "storage" / f"{stem}.py") for stem in importing)


def test_only_the_composition_root_in_bot_imports_the_layers() -> None:
    problems = []
    for path in (ROOT / "bot").rglob("*.py"):
        if path in COMPOSITION_ROOT:
            continue
        wrong = imported_packages(path) & set(LAYERS)
        if path == CLI and wrong == {"flows"} and all(
                re.fullmatch(r"flows\.cli\.FEATURE_CLI|flows\.\w+\.cli", m)
                for m in runtime_imports(path, True) if m.startswith("flows")):
            continue  # the features' commands (flows/cli.py): see the next test
        if wrong:
            problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert problems == []
    assert set().union(*map(imported_packages, COMPOSITION_ROOT)) >= set(LAYERS)


def runtime_imports(path: Path, everywhere: bool = False) -> set[str]:
    """Modules PATH imports when it is imported: at module level, not under TYPE_CHECKING
    and not inside a function (with `everywhere`, all of them); `from flows.x import y` counts
    as flows.x.y."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree) if everywhere else tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.update(f"{node.module}.{alias.name}" if node.module == "flows" or
                         re.fullmatch(r"flows\.\w+", node.module) else node.module
                         for alias in node.names)
    return found


def test_the_cli_reaches_the_layers_only_through_the_composition_root() -> None:
    """bot/cli.py imports, of the layers, only flows/cli.py, which imports only the features'
    cli modules, so that `--help` lists their commands without loading any feature."""
    from bot.wiring import FEATURES

    clis = {f.cli.__module__ for f in FEATURES if f.cli is not None}
    assert {m for m in runtime_imports(CLI) if m.split(".")[0] in LAYERS} == {
        "flows.cli.FEATURE_CLI"}
    flows = {m for m in runtime_imports(CLI_REGISTRY) if m.split(".")[0] in LAYERS}
    assert flows == clis
    assert {m for m in imported_modules(CLI_REGISTRY) if m.split(".")[0] in LAYERS} <= {
        m.rsplit(".", 1)[0] for m in clis}


def test_a_features_cli_module_imports_only_click_and_the_cli_kit_at_run_time() -> None:
    paths = sorted((ROOT / "flows").glob("*/cli.py"))
    assert len(paths) >= 3
    allowed = {"click", "bot.clikit", "__future__"}
    problems = [f"{path.relative_to(ROOT)} imports {module}" for path in paths
                for module in sorted(runtime_imports(path))
                if module not in allowed and module.split(".")[0] not in sys.stdlib_module_names]
    assert problems == []


def test_the_runtime_import_check_skips_type_checking_and_functions(tmp_path: Path) -> None:
    sample = tmp_path / "cli.py"
    sample.write_text("import click\nfrom typing import TYPE_CHECKING\n"
                      "from flows.path import cli\n"
                      "if TYPE_CHECKING:\n    from bot.config import Config\n"
                      "def f() -> None:\n    from rich.table import Table\n", encoding="utf-8")
    assert runtime_imports(sample) == {"click", "typing", "flows.path.cli"}


def test_services_use_bot_flows_and_storage_never_adapters() -> None:
    paths = list((ROOT / SERVICES).rglob("*.py"))
    assert paths
    problems = [f"{path.relative_to(ROOT)} imports adapters" for path in paths
                if "adapters" in imported_packages(path)]
    assert problems == []
    assert "services" in imported_packages(CLI)


WEB = "web"


def test_the_web_uses_services_and_bot_types_never_the_engine_or_a_layer() -> None:
    """web/ is an interface, like the command line: it reads through services/ and names
    bot/'s types; the engine, the composition root, adapters, flows and storage stay out.
    The composition root starts it (bot/app.py, imported only when [web] is enabled)."""
    paths = list((ROOT / WEB).rglob("*.py"))
    assert paths
    forbidden = {"bot.engine", "bot.app", "bot.wiring"}
    problems = [f"{path.relative_to(ROOT)} imports {module}" for path in paths
                for module in sorted(imported_modules(path))
                if module.split(".")[0] in {*LAYERS, "bench"} or module in forbidden]
    assert problems == []
    assert WEB not in {m.split(".")[0] for m in runtime_imports(ROOT / "bot" / "app.py")}


def test_only_the_cli_imports_services() -> None:
    problems = []
    for package in PACKAGES:
        if package == SERVICES:
            continue
        for path in (ROOT / package).rglob("*.py"):
            if path != CLI and SERVICES in imported_packages(path):
                problems.append(str(path.relative_to(ROOT)))
    assert problems == []


def names_in(path: Path) -> list[tuple[int, str]]:
    """Every identifier and string literal in PATH (docstrings included), with its line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((line, node.value))
        elif isinstance(node, ast.Name):
            found.append((line, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((line, node.attr))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append((line, node.name))
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            found.append((line, node.arg))
        elif isinstance(node, ast.alias):
            found += [(line, node.name), (line, node.asname or "")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((line, node.module))
    return found


def test_the_core_names_no_network() -> None:
    problems = [f"{path.relative_to(ROOT)}:{line}: {text[:60]!r}"
                for path in sorted((ROOT / "bot").rglob("*.py")) if path not in COMPOSITION_ROOT
                for line, text in names_in(path) if NETWORK_NAME.search(text)]
    assert problems == []


def test_the_network_check_sees_identifiers_strings_and_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('from adapters.irc.client import IrcAdapter\n'
                      'def send(telegram_id: int) -> str:\n'
                      '    """Mind the Matrix."""\n'
                      '    return "circular, not a network"\n', encoding="utf-8")
    hits = [text for _line, text in names_in(sample) if NETWORK_NAME.search(text)]
    assert sorted(hits) == ["IrcAdapter", "Mind the Matrix.", "adapters.irc.client",
                            "telegram_id"]


# bot/cli.py starts the composition root (and takes the features' commands from flows/cli.py,
# naming none itself); bot/commands_table.py renders the composed features' commands into the
# README.
FEATURE_NAMING = COMPOSITION_ROOT | {CLI, ROOT / "bot" / "commands_table.py"}
# Importing the composition root names every feature, if only at one remove.
COMPOSING = ("bot.app", "bot.wiring")


def feature_record_types() -> set[str]:
    """The record types (and read models) the features declare in flows/<feature>/records.py."""
    return {node.name for path in (ROOT / "flows").glob("*/records.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ClassDef)}


OWN_PACKAGES = {"bot", "adapters", "flows", "storage", "services", "bench", "tests", "content"}


def identifiers_in(path: Path) -> list[tuple[int, str]]:
    """names_in without string literals: prose may say "event", code may not name Event.
    A name read from another library's module (`asyncio.Event`) is that library's."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    strings = {id(node) for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    libraries = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.Import) for alias in node.names
                 if alias.name.split(".")[0] not in OWN_PACKAGES}
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in strings:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name):
            found.append((line, node.id))
        elif isinstance(node, ast.Attribute):
            if not (isinstance(node.value, ast.Name) and node.value.id in libraries):
                found.append((line, node.attr))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append((line, node.name))
        elif isinstance(node, ast.alias):
            found += [(line, node.name), (line, node.asname or "")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((line, node.module))
    return found


def core_naming_features(paths: list[Path], records: set[str]) -> list[str]:
    problems = []
    for path in paths:
        problems += [f"{path.name} imports {module}" for module in sorted(imported_modules(path))
                     if module.split(".")[0] == "flows" or module in COMPOSING]
        problems += [f"{path.name}:{line}: {name}" for line, name in identifiers_in(path)
                     if name in records]
    return problems


# The modules where features declare their content models and what is built on them.
FEATURE_CONTENT_MODULES = ("content.py", "roster.py", "officehours.py", "quiet.py")


def feature_content_types() -> set[str]:
    """The content models (and what features build on them: mentors, office and quiet hours)
    the features declare in flows/<feature>/."""
    return {node.name for name in FEATURE_CONTENT_MODULES
            for path in (ROOT / "flows").glob(f"*/{name}")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ClassDef)}


def test_the_core_names_no_feature() -> None:
    records = feature_record_types()
    assert {"Broadcast", "ScheduleBroadcast", "SetRsvp", "MentorState", "AddMentor",
            "TaskClaim", "MergePersons", "Event"} <= records
    content = feature_content_types()
    assert {"Project", "Task", "Workshop", "WorkshopStep", "UrlCheckpoint", "PathContent",
            "MentorProfile", "MentoringContent", "Mentor", "Roster", "OfficeHours", "Region",
            "EventFile", "EventsContent", "QuietHours"} <= content
    paths = [p for p in sorted((ROOT / "bot").rglob("*.py")) if p not in FEATURE_NAMING]
    assert core_naming_features(paths, records | content) == []


def test_feature_content_lives_in_its_feature() -> None:
    """What moved out of bot/ stays out: no core module is a feature's content or hours."""
    assert not any((ROOT / "bot" / f"{stem}.py").exists()
                   for stem in ("officehours", "quiet"))
    assert (ROOT / "flows" / "mentoring" / "officehours.py").exists()
    assert (ROOT / "flows" / "events" / "quiet.py").exists()


def test_the_core_store_names_no_feature() -> None:
    """The writer, the record registry, the core tables and queries: features come in only
    through storage/<feature>.py, which storage/repository.py composes."""
    records = feature_record_types()
    features = {p.parent.name for p in (ROOT / "flows").glob("*/records.py")}
    paths = [p for p in sorted((ROOT / "storage").glob("*.py"))
             if p.stem not in features and p.stem != "repository"]
    assert {p.stem for p in paths} >= {"writer", "records", "tables", "bulk", "queries"}
    assert core_naming_features(paths, records) == []
    assert not any("storage." + f in imported_modules(p) for p in paths for f in features)


def test_the_feature_check_sees_imports_and_record_types(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('import flows.events\n'
                      'from bot.wiring import FEATURES\n'
                      'from bot.model import PersonId\n'
                      'def kick(record: object) -> bool:\n'
                      '    """A ScheduleBroadcast in prose is fine."""\n'
                      '    return isinstance(record, records.ScheduleBroadcast)\n',
                      encoding="utf-8")
    assert core_naming_features([sample], {"ScheduleBroadcast", "PersonId2"}) == [
        "sample.py imports bot.wiring", "sample.py imports flows.events",
        "sample.py:6: ScheduleBroadcast"]


def test_a_librarys_name_is_not_a_features(tmp_path: Path) -> None:
    """asyncio.Event is asyncio's; records.Event or a bare Event is the feature's."""
    sample = tmp_path / "sample.py"
    sample.write_text('import asyncio\n'
                      'done = asyncio.Event()\n'
                      'seen = records.Event\n'
                      'Event = 3\n', encoding="utf-8")
    assert core_naming_features([sample], {"Event"}) == ["sample.py:3: Event",
                                                        "sample.py:4: Event"]


def test_adapters_import_nothing_of_flows_or_storage() -> None:
    problems = [f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
                for path in (ROOT / "adapters").rglob("*.py")
                if (wrong := imported_packages(path) & {"flows", "storage"})]
    assert problems == []


def cross_feature_imports(flows: Path) -> list[str]:
    """Imports by a module of flows/<a>/ of another feature's modules other than its api."""
    features = {p.name for p in flows.iterdir() if (p / "__init__.py").exists()}
    problems = []
    for path in sorted(flows.rglob("*.py")):
        own = path.relative_to(flows).parts[0]
        if own not in features:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
                if node.module == "flows":  # from flows import path
                    modules = [f"flows.{alias.name}" for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] != "flows" or len(parts) < 2 or parts[1] == own or \
                        parts[1] not in features:
                    continue
                if module != f"flows.{parts[1]}.api":
                    problems.append(f"{path.relative_to(flows)}:{node.lineno}: {module}")
    return problems


def test_a_feature_uses_another_only_through_its_api() -> None:
    assert cross_feature_imports(ROOT / "flows") == []


def test_the_cross_feature_check_sees_every_import_form(tmp_path: Path) -> None:
    for feature in ("path", "events"):
        (tmp_path / feature).mkdir()
        (tmp_path / feature / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "events" / "invites.py").write_text(
        "from flows.path.api import stage\n"
        "from flows.path.state import PathState\n"
        "import flows.path.progress\n"
        "from flows import path\n"
        "from flows.events.state import EventsState\n"
        "def later():\n"
        "    from flows.path.records import EndClaim\n", encoding="utf-8")
    assert cross_feature_imports(tmp_path) == [
        "events/invites.py:2: flows.path.state", "events/invites.py:3: flows.path.progress",
        "events/invites.py:4: flows.path", "events/invites.py:7: flows.path.records"]


# What once lived in the core for one feature: the events feature's audience model (Standing:
# region, invites, milestone), its quiet hours (the outbox's "quiet_tz") and mentoring's grants
# (Directory.assignments). Features now bring them through neutral hooks (Feature.project,
# the outbox's deferral, Feature.roles).
FEATURE_WORDS = re.compile(r"standing|quiet|milestone|invites|region|assignment|mentor", re.I)
FEATURE_STRINGS = re.compile(r"quiet_tz|standing", re.I)


def core_keeping_feature_words(paths: list[Path]) -> list[str]:
    return ([f"{path.name}:{line}: {name}" for path in paths
             for line, name in identifiers_in(path) if FEATURE_WORDS.search(name)] +
            [f"{path.name}:{line}: {text[:40]!r}" for path in paths
             for line, text in names_in(path) if FEATURE_STRINGS.search(text)])


def test_the_core_keeps_no_features_read_model_deferral_or_grants(tmp_path: Path) -> None:
    paths = [p for p in sorted((ROOT / "bot").rglob("*.py")) if p not in FEATURE_NAMING]
    paths += [ROOT / "storage" / f"{stem}.py"
              for stem in ("writer", "records", "tables", "bulk", "queries")]
    assert core_keeping_feature_words(paths) == []
    sample = tmp_path / "sample.py"
    sample.write_text('"""Invites wait out the night (prose may say so)."""\n'
                      'tz = row.body.get("quiet_tz")\n'
                      'standing = state.standing\n'
                      'directory.assignments.add(pair)\n', encoding="utf-8")
    hits = core_keeping_feature_words([sample])
    assert "sample.py:2: 'quiet_tz'" in hits
    assert "sample.py:4: assignments" in hits
    assert {hit.split(":")[1] for hit in hits} == {"2", "3", "4"}  # not the prose
