"""Fixtures: databases (SQLite files and PostgreSQL), clocks and the chat harness."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

import bot.engine as engine_module
from tests.browser import browser, loop_thread, pages_for  # noqa: F401 (browser tests' fixtures)
from tests.harness import FakeClock, Harness, make_config
from tests.scheduling import slow_first
from tests.synapse import Synapse, start_synapse

# Every turn of every test: a projection the engine skips (none of its declared inputs
# changed) is asked anyway, and fails the test if it would have made another record.
SKIPPED_PROJECTIONS_WRONG: list[str] = []
engine_module.CHECK_SKIPPED_PROJECTIONS = SKIPPED_PROJECTIONS_WRONG


@pytest.fixture(autouse=True)
def skipped_projections_checked() -> Iterator[list[str]]:
    SKIPPED_PROJECTIONS_WRONG.clear()
    yield SKIPPED_PROJECTIONS_WRONG
    assert not SKIPPED_PROJECTIONS_WRONG, SKIPPED_PROJECTIONS_WRONG[0]

PG_ENV = "WAYFINDER_TEST_PG_URL"
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get(PG_ENV, PG_DEFAULT)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'wayfinder.db'}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh database on the PostgreSQL server named by WAYFINDER_TEST_PG_URL, dropped after."""
    admin = make_url(pg_admin_url())
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"wf_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is not reachable at {admin.render_as_string()} ({exc}). "
                    f"Start it (scripts/test does) or point {PG_ENV} at a server.")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield admin.set(database=name).render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


HarnessFactory = Callable[..., Harness]


@pytest.fixture
async def bot(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    async with Harness(make_config(sqlite_url), clock=clock) as harness:
        yield harness


@pytest.fixture
async def synapse() -> AsyncIterator[Synapse]:
    """A fresh Synapse on 127.0.0.1 with relaxed rate limits (tests/servers/homeserver.yaml.in)."""
    server = await start_synapse()
    yield server
    await server.remove()


@pytest.hookimpl(trylast=True)  # after -k, -m and --deselect have chosen the tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests marked slow go first, the longest first, one at the head of each worker's
    share (tests/scheduling.py): the run then lasts about as long as the longest of them."""
    slow = sorted((i for i in items if _slow_seconds(i)), key=_slow_seconds, reverse=True)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = slow_first(items, slow, workers)


def _slow_seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("slow")
    if marker is None:
        return 0.0
    return float(marker.kwargs.get("seconds", marker.args[0] if marker.args else 60))
