"""`pip install .` (not editable) gives a bot that finds its bundled demo content."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from storage.migrate import script_heads

ROOT = Path(__file__).resolve().parent.parent


def _source_tree(dest: Path) -> Path:
    """A clean copy of what a wheel is built from (no build/, egg-info or caches here)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for folder in ROOT.iterdir():
        if (folder / "__init__.py").is_file() and folder.name != "tests":
            shutil.copytree(folder, dest / folder.name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False,
                            **kw)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result  # type: ignore[no-any-return]


def test_an_installed_wheel_chats_on_its_bundled_demo_content(tmp_path: Path) -> None:
    source = _source_tree(tmp_path / "src")
    dist = tmp_path / "dist"
    # No build isolation: setuptools comes from the dev extras, so the build needs no index.
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "-w", str(dist), str(source)])
    wheel = next(dist.glob("wayfinder-*.whl"))

    # A fresh venv with the wheel alone; its dependencies come from this venv's
    # site-packages through a .pth line (read as a path: this venv's .pth files, such as
    # the editable install's finder, are not run, so the checkout cannot leak in).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          "--no-index", str(wheel)])
    fresh = Path(_run([str(python), "-c", "import sysconfig; "
                       "print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (fresh / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WAYFINDER"))}
    where = _run([str(python), "-c", "import bot, content; print(bot.__file__, content.__file__)"],
                 cwd=empty, env=env).stdout
    assert str(ROOT) not in where
    assert where.count(str(fresh)) == 2, where

    chat = _run([str(venv / "bin" / "wayfinder"), "chat", "--as", "ada"], cwd=empty, env=env,
                input="!start\n!skip\n!skip\n!skip\n")
    names = [tomllib.loads(p.read_text(encoding="utf-8"))["name"]
             for p in sorted((ROOT / "content" / "projects").glob("*.toml"))]
    shown = [name for name in names if f"* {name}:" in chat.stdout]
    assert len(shown) >= 3, chat.stdout  # suggestions from the demo projects, page one
    assert "accessibility" in chat.stdout  # the interests come from the demo projects' tags
    assert (empty / "wayfinder.db").is_file()
    # Every migration folder is in the wheel: its database reached each branch's head.
    with sqlite3.connect(empty / "wayfinder.db") as db:
        stored = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
    assert stored == script_heads(), stored

    # The README's first command: `wayfinder run` on the embedded default (it migrates a new
    # database in a child process), here in a second empty folder; it ends with its input.
    fresh_folder = tmp_path / "run"
    fresh_folder.mkdir()
    run = _run([str(venv / "bin" / "wayfinder"), "run"], cwd=fresh_folder, env=env,
               input="!start\n")
    assert "What are you interested in?" in run.stdout, run.stdout
    assert (fresh_folder / "wayfinder.db").is_file()

    # The web pages' templates and static files are package data: the hub renders from the
    # installed wheel, with its vendored htmx and stylesheet.
    rendered = _run([str(python), "-c", WEB_CHECK], cwd=fresh_folder, env=env).stdout
    assert rendered.split() == ["200", "200", "200"], rendered


WEB_CHECK = """
import asyncio
import httpx
from bot.wiring import load_config
from services.public import public_pages
from web.app import Site, create_app

async def main():
    async with public_pages(load_config(None)) as pages:
        app = create_app(Site(pages))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for path in ("/", "/static/htmx.min.js", "/static/style.css"):
                print((await client.get(path)).status_code)

asyncio.run(main())
"""
