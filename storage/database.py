"""Async engines: SQLite (WAL, busy timeout, immediate write transactions) or PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

BUSY_TIMEOUT_MS = 10_000


@dataclass
class Database:
    """A writer engine (one connection, serialised writes) and a reader engine."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine

    @property
    def is_sqlite(self) -> bool:
        return self.writer.dialect.name == "sqlite"

    async def dispose(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _sqlite_engine(url: str, immediate: bool, durable: bool, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0,
                                 connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
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
        # its own implicit transaction: no BEGIN round trip.
        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_database(url: str, durable: bool = True) -> Database:
    """Build the engines for URL; nothing connects until first use."""
    if make_url(url).get_backend_name() == "sqlite":
        writer = _sqlite_engine(url, immediate=True, durable=durable, pool_size=1)
        reader = _sqlite_engine(url, immediate=False, durable=durable, pool_size=4)
        return Database(url, writer, reader)
    engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    return Database(url, engine, engine)
