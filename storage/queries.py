"""What every storage module's queries stand on: the database to read, the writer to write
through. The store (storage/repository.py) is composed of the core's and each feature's."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from storage.database import Database
from storage.writer import GroupWriter


class Queries:
    db: Database
    writer: GroupWriter

    async def _all(self, stmt: sa.Executable) -> list[Any]:
        return await self.db.read(lambda conn: list(conn.execute(stmt)))

    async def _one(self, stmt: sa.Executable) -> Any:
        rows = await self._all(stmt)
        return rows[0] if rows else None
