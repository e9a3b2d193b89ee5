"""One leader among the processes sharing a PostgreSQL store: it runs the scheduler's scans and
the broadcast fan-out. The leader holds a session advisory lock (`pg_try_advisory_lock`) on a
connection of its own, kept while it leads; when its process dies the server ends the session
and the lock with it, and the next process to try (every scan tick) leads. SQLite is one
process per file (storage/holder.py): that process always leads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from storage.database import Database

if TYPE_CHECKING:  # loaded only on PostgreSQL: a SQLite bot never needs the driver
    import asyncpg

log = logging.getLogger(__name__)

LEADER_KEY = 0x57617966  # "Wayf": the advisory lock the leader holds
MIGRATION_KEY = 0x57617967  # held (per transaction) while the schema is upgraded
CONNECT_SECONDS = 5.0


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class LeaderLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: asyncpg.Connection | None = None

    @property
    def held(self) -> bool:
        """Whether this process leads (as of its last `lead`)."""
        return self.db.is_sqlite or self._conn is not None

    async def lead(self) -> bool:
        """Lead if no live process does: keep the lock if held (and the session is alive),
        else try to take it. Never raises: an unreachable server means not leading."""
        if self.db.is_sqlite:
            return True
        import asyncpg

        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = None
                self._conn = await asyncpg.connect(_dsn(self.db.url), timeout=CONNECT_SECONDS)
                if not await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_KEY):
                    await self.release()
                    return False
                log.info("this process leads: it runs the scans and broadcasts")
                return True
            await self._conn.fetchval("SELECT 1", timeout=CONNECT_SECONDS)  # still alive
            return True
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("leader lock: %s; not leading until the next try", exc)
            await self.release()
            return False

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=CONNECT_SECONDS)  # the session's lock goes with it


PERSON_SPACE = 0x5770  # two-key advisory locks (PERSON_SPACE, person id): one person's turns


class PersonLocks:
    """PostgreSQL: one person's turns one process at a time, when two processes were seen at
    it together (a version conflict). Session advisory locks on one connection of this
    process's own, taken by polling `pg_try_advisory_lock` (a blocked wait would hold the
    connection every other lock of the process needs); a dead process's locks end with its
    session."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: asyncpg.Connection | None = None
        self._use = asyncio.Lock()  # one query at a time on the connection

    async def _call(self, query: str, person: int) -> bool:
        import asyncpg

        async with self._use:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(_dsn(self.db.url), timeout=CONNECT_SECONDS)
            return bool(await self._conn.fetchval(query, PERSON_SPACE, person))

    @contextlib.asynccontextmanager
    async def hold(self, person: int) -> AsyncIterator[None]:
        if self.db.is_sqlite:
            yield
            return
        import asyncpg

        wait = 0.002
        while not await self._call("SELECT pg_try_advisory_lock($1, $2)", person):
            await asyncio.sleep(wait)
            wait = min(wait * 2, 0.05)
        try:
            yield
        finally:
            try:
                await self._call("SELECT pg_advisory_unlock($1, $2)", person)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("could not unlock person %d (%s): dropping the session", person, exc)
                await self.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=CONNECT_SECONDS)
