"""Database access without blocking the event loop: SQLite on worker threads, PostgreSQL async.

SQLite work runs as whole units on threads, with the standard driver: one thread hop per
transaction or read instead of one per statement, which is what an aiosqlite connection costs
(each cursor call is a hop). The writer has one thread and one connection (WAL, busy timeout,
BEGIN IMMEDIATE); readers have their own pool and threads. `sqlite+aiosqlite://` URLs, the
documented default, are served this way. PostgreSQL uses asyncpg, and the same synchronous
unit functions run through SQLAlchemy's `run_sync`, so storage code is written once.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry

if TYPE_CHECKING:  # loaded for PostgreSQL only: about 8 MB an SQLite bot never uses
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)
T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
SQLITE_READERS = 4
# Errors about one statement's data: the store itself is fine, another unit may succeed.
DATA_ERRORS = (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.ProgrammingError,
               sa_exc.NotSupportedError)


# PostgreSQL SQLSTATE classes about the statement's data (asyncpg's errors outside these
# reach SQLAlchemy as a plain DBAPIError): data exception, integrity, cardinality, syntax or
# access rule, WITH CHECK OPTION, feature not supported, PL/pgSQL raise.
DATA_SQLSTATES = ("22", "23", "21", "42", "44", "0A", "P0")


class StoreIOError(OSError):
    """An OSError raised while reaching the store (a refused or dropped connection, a file
    that cannot be opened). Only these count as the store's: an OSError a flow raises on its
    own (a bad time zone name, a missing file) is the flow's, answered like any bug."""


def store_failure(exc: BaseException) -> bool:
    """Whether `exc` is about the store (cannot open, write or reach it, locked, full) rather
    than about the data one unit of work gave it, or about code that is not the store's."""
    if isinstance(exc, DATA_ERRORS):
        return False
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in DATA_SQLSTATES:
        return False
    return isinstance(exc, sa_exc.DBAPIError | StoreIOError)


# SQLite primary result codes that mean the file itself is unusable: READONLY, IOERR,
# CORRUPT, FULL, CANTOPEN, NOTADB (BUSY and LOCKED pass: another writer, not a broken store).
SQLITE_BROKEN = frozenset({8, 10, 11, 13, 14, 26})
# PostgreSQL: disk full, read-only transaction, I/O error, data or index corrupted.
PG_BROKEN = frozenset({"53100", "25006", "58030", "XX001", "XX002"})


def broken_store(exc: BaseException) -> bool:
    """Whether `exc` says the store can no longer be written at all (no retry will help)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in SQLITE_BROKEN
    return getattr(orig, "sqlstate", None) in PG_BROKEN


def describe_failure(exc: BaseException) -> str:
    """The driver's own words for a failure, on one line (no SQL, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split()) or type(orig).__name__
    return text[:300]


def sqlite_execute(conn: Connection, statement: str, params: Sequence[Any] = (),
                   many: bool = False) -> list[Any]:
    """Driver SQL on SQLite, straight to the driver's connection: the hot path's few
    statements per batch, where SQLAlchemy's execution (events, result objects) cost several
    times the driver's own call. Its rows, if any; a driver error is raised as SQLAlchemy's
    (IntegrityError, OperationalError, ...), as `exec_driver_sql` raises it, so callers and
    `store_failure` tell the store's failures from a unit's alike."""
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        if many:
            driver.executemany(statement, params)
            return []
        rows: list[Any] = driver.execute(statement, params).fetchall()
        return rows
    except sqlite3.Error as exc:
        raise sa_exc.DBAPIError.instance(statement, params, exc, sqlite3.Error,
                                         dialect=conn.dialect, ismulti=many) from exc


@contextmanager
def sqlite_savepoint(conn: Connection) -> Iterator[None]:
    """A savepoint on SQLite, straight to the driver like `sqlite_execute`: what is written
    inside is undone if it raises, and the error propagates (a driver error as SQLAlchemy's).
    `conn.begin_nested()` does the same through SQLAlchemy's transaction objects at ~180 µs
    for SAVEPOINT + RELEASE on the writer thread (cProfile, bench.core), about as much as the
    unit's own insert. Nested ones may share the name: ROLLBACK TO and RELEASE take the
    innermost."""
    sqlite_execute(conn, "SAVEPOINT unit")
    try:
        yield
    except BaseException:
        driver = conn.connection.driver_connection
        # An error that ended the whole transaction (disk full, I/O) took the savepoint
        # with it: the original error is the one to report, not "no such savepoint".
        if driver is not None and driver.in_transaction:
            try:
                sqlite_execute(conn, "ROLLBACK TO unit")
                sqlite_execute(conn, "RELEASE unit")
            except sa_exc.DBAPIError:  # the store failing now: the error inside says why
                log.warning("could not undo a unit's savepoint", exc_info=True)
        raise
    sqlite_execute(conn, "RELEASE unit")


def _sqlite_engine(url: str, immediate: bool, durable: bool, pool_size: int) -> Engine:
    engine = create_engine(make_url(url).set(drivername="sqlite+pysqlite"),
                           pool_size=pool_size, max_overflow=0,
                           connect_args={"timeout": BUSY_TIMEOUT_MS / 1000,
                                         "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver, so BEGIN IMMEDIATE and SAVEPOINT work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if immediate:
        # Writers take the write lock up front, so they queue on busy_timeout instead of
        # failing with SQLITE_BUSY when upgrading a read lock. Readers run each SELECT in
        # its own implicit transaction.
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            sqlite_execute(conn, "BEGIN IMMEDIATE")  # every batch: without SQLAlchemy's steps

    return engine


@dataclass
class Database:
    """Runs synchronous unit functions (`fn(connection) -> T`) as awaitables."""

    url: str
    durable: bool = True
    _sync_writer: Engine | None = field(default=None, init=False)
    _sync_reader: Engine | None = field(default=None, init=False)
    _async: AsyncEngine | None = field(default=None, init=False)
    _write_thread: ThreadPoolExecutor | None = field(default=None, init=False)
    _writer_conn: Connection | None = field(default=None, init=False)
    _read_threads: ThreadPoolExecutor | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if make_url(self.url).get_backend_name() == "sqlite":
            self._sync_writer = _sqlite_engine(self.url, True, self.durable, 1)
            self._sync_reader = _sqlite_engine(self.url, False, self.durable, SQLITE_READERS)
            self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
            self._read_threads = ThreadPoolExecutor(SQLITE_READERS,
                                                    thread_name_prefix="sqlite-reader")
        else:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._async = create_async_engine(self.url, pool_size=5, max_overflow=5,
                                              pool_pre_ping=True)

    @property
    def is_sqlite(self) -> bool:
        return self._async is None

    @property
    def where(self) -> str:
        """The file (SQLite) or database (PostgreSQL, without its password), for messages."""
        url = make_url(self.url)
        if self.is_sqlite:
            return f"file {Path(url.database).resolve()}" if url.database else "in-memory SQLite"
        return f"database {url.render_as_string(hide_password=True)}"

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in one write transaction, committed when it returns."""
        try:
            return await self._write(fn)
        except OSError as exc:
            raise _store_io(exc) from exc

    async def _write(self, fn: Callable[[Connection], T]) -> T:
        if self._async is not None:
            async with self._async.begin() as conn:
                return await conn.run_sync(fn)
        return await asyncio.get_running_loop().run_in_executor(self._write_thread,
                                                                self._write_unit, fn)

    def _write_unit(self, fn: Callable[[Connection], T]) -> T:
        # The writer thread keeps its one connection: no pool checkout and reset per batch.
        if self._writer_conn is None or self._writer_conn.closed:
            assert self._sync_writer is not None
            self._writer_conn = self._sync_writer.connect()
        with self._writer_conn.begin():
            return fn(self._writer_conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        try:
            return await self._read(fn)
        except OSError as exc:
            raise _store_io(exc) from exc

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        if self._async is not None:
            async with self._async.connect() as conn:
                return await conn.run_sync(fn)
        engine = self._sync_reader
        assert engine is not None

        def unit() -> T:
            with engine.connect() as conn:
                return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self._read_threads, unit)

    async def dispose(self) -> None:
        if self._async is not None:
            await self._async.dispose()
            return
        loop = asyncio.get_running_loop()
        if self._writer_conn is not None:
            await loop.run_in_executor(self._write_thread, self._writer_conn.close)
            self._writer_conn = None
        for engine, pool in ((self._sync_writer, self._write_thread),
                             (self._sync_reader, self._read_threads)):
            if engine is not None and pool is not None:
                await loop.run_in_executor(pool, engine.dispose)
                pool.shutdown(wait=False)


def _store_io(exc: OSError) -> StoreIOError:
    if isinstance(exc, StoreIOError):
        return exc
    return StoreIOError(str(exc) or type(exc).__name__)


def open_database(url: str, durable: bool = True) -> Database:
    """Build the engines for URL; nothing connects until first use."""
    return Database(url, durable)
