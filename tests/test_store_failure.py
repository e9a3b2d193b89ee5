"""A store that cannot be opened or written stops `wayfinder run` and `wayfinder chat` with a
message naming the file and the problem, and a non-zero exit (it used to run on, never
answering). Each test runs the real command as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.ports import StoreBrokenError
from storage.repository import SqlStore
from tests.processes import greeted_bot

# `wayfinder` as it runs, except that the store's file may not grow by one page: the next
# write that needs a new page finds the disk full (SQLITE_FULL), as a full disk would.
FULL_DISK = """
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "connect")
def _no_more_pages(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    pages = cursor.execute("PRAGMA page_count").fetchone()[0]
    cursor.execute(f"PRAGMA max_page_count={pages}")
    cursor.close()

from bot.cli import main
main()
"""


def wayfinder(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200"})


def a_used_store(folder: Path) -> Path:
    first = wayfinder(folder, "chat", "--as", "ada", stdin="!start\n!skip\n")
    assert first.returncode == 0, first.stderr
    return folder / "wayfinder.db"


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make the file read-only, for root too (the immutable attribute)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    assert chattr is not None, "running as root: chattr is needed to make a file read-only"
    made = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
    assert made.returncode == 0, f"chattr +i {path}: {made.stderr}"
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_a_corrupt_store_stops_run_naming_the_file(tmp_path: Path) -> None:
    store = tmp_path / "wayfinder.db"
    store.write_bytes(b"this is no database, " * 1000)
    result = wayfinder(tmp_path, "run", stdin="!start\n")
    assert result.returncode == 1
    assert f"file {store}" in result.stderr
    assert "file is not a database" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # nobody was greeted by a bot that could not remember them
    report = wayfinder(tmp_path, "outbox")  # one-shot commands say the same
    assert report.returncode == 1
    assert f"the store (file {store}) cannot be opened: file is not a database" in report.stderr


def test_a_read_only_store_stops_chat_naming_the_file(tmp_path: Path) -> None:
    store = a_used_store(tmp_path)
    with read_only(store):
        result = wayfinder(tmp_path, "chat", "--as", "bob", stdin="!start\n")
    assert result.returncode == 1
    assert f"file {store}" in result.stderr
    assert "attempt to write a readonly database" in result.stderr
    assert "Traceback" not in result.stderr
    assert "What are you interested in?" not in result.stdout


def test_a_full_disk_during_the_run_stops_it_naming_the_file(tmp_path: Path) -> None:
    store = a_used_store(tmp_path)
    # It runs (the greeting came), until the file has to grow.
    with greeted_bot([sys.executable, "-c", FULL_DISK, "run"], tmp_path) as proc:
        assert proc.stdin is not None
        began = time.monotonic()
        sent = 0
        while proc.poll() is None and time.monotonic() - began < 30:
            try:  # the replies to !help fill pages quickly
                proc.stdin.write("!help\n")
                proc.stdin.flush()
            except BrokenPipeError:
                break
            sent += 1
            time.sleep(0.02)
        _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 1, err
    assert f"the store (file {store}) cannot be written: database or disk is full" in err
    assert sent > 1  # the run went on until the disk was full, then stopped


async def test_a_read_only_postgresql_database_is_refused_at_start(postgres_url: str) -> None:
    async with SqlStore.open(postgres_url):
        pass  # migrated while it could be written
    url = make_url(postgres_url)
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(
        hide_password=False))
    try:
        await conn.execute(f'ALTER DATABASE "{url.database}" SET default_transaction_read_only'
                           " = on")
    finally:
        await conn.close()
    store = SqlStore.open(postgres_url)
    with pytest.raises(StoreBrokenError) as refused:
        await store.start()
    assert str(refused.value) == (
        f"the store (database {url.render_as_string(hide_password=True)}) cannot be written: "
        "cannot execute UPDATE in a read-only transaction")
