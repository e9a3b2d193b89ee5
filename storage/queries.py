"""What every storage module's queries stand on: the database to read, the writer to write
through. The store (storage/repository.py) is composed of the core's and each feature's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.records import Record
from storage.database import Database
from storage.writer import GroupWriter


class Queries:
    db: Database
    writer: GroupWriter

    def written(self, records: Sequence[Record]) -> None:
        """A unit with these records was just written, committed or refused (the group
        writer tells the store, whose storage modules each call the next): a module that
        keeps answers in memory drops those the records may have made stale."""

    async def _all(self, stmt: sa.Executable) -> list[Any]:
        return await self.db.read(lambda conn: list(conn.execute(stmt)))

    async def _one(self, stmt: sa.Executable) -> Any:
        rows = await self._all(stmt)
        return rows[0] if rows else None
