"""Architecture: adapters, flows and storage import from bot, never from each other; services
sit on top (bot, flows, storage) and only the command line imports them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("adapters", "flows", "storage")
COMPOSITION_ROOT = ROOT / "bot" / "app.py"
CLI = ROOT / "bot" / "cli.py"
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


def test_layers_never_import_each_other() -> None:
    problems = []
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            wrong = imported_packages(path) & (set(LAYERS) - {layer})
            if wrong:
                problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert problems == []


def test_only_the_composition_root_in_bot_imports_the_layers() -> None:
    problems = []
    for path in (ROOT / "bot").rglob("*.py"):
        if path == COMPOSITION_ROOT:
            continue
        wrong = imported_packages(path) & set(LAYERS)
        if wrong:
            problems.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert problems == []
    assert imported_packages(COMPOSITION_ROOT) >= set(LAYERS)


def test_the_cli_reaches_the_layers_only_through_the_composition_root() -> None:
    assert imported_packages(CLI) & set(LAYERS) == set()


def test_services_use_bot_flows_and_storage_never_adapters() -> None:
    paths = list((ROOT / SERVICES).rglob("*.py"))
    assert paths
    problems = [f"{path.relative_to(ROOT)} imports adapters" for path in paths
                if "adapters" in imported_packages(path)]
    assert problems == []
    assert "services" in imported_packages(CLI)


def test_only_the_cli_imports_services() -> None:
    problems = []
    for package in PACKAGES:
        if package == SERVICES:
            continue
        for path in (ROOT / package).rglob("*.py"):
            if path != CLI and SERVICES in imported_packages(path):
                problems.append(str(path.relative_to(ROOT)))
    assert problems == []
