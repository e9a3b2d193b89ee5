"""How records are written: the registry each storage module declares (record type -> how it
applies in a unit of work), combined by the store; and the core's own records (audit rows)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.records import Audit, Record
from storage.bulk import BulkSql
from storage.tables import (
    AuditRow,
    FlowState,
    IdentityRow,
    OutboxRowTable,
    Person,
    ProgressEvent,
)

identity_t = IdentityRow.__table__  # type: ignore[attr-defined]
person_t = Person.__table__  # type: ignore[attr-defined]
state_t = FlowState.__table__  # type: ignore[attr-defined]
event_t = ProgressEvent.__table__  # type: ignore[attr-defined]
outbox_t = OutboxRowTable.__table__  # type: ignore[attr-defined]
audit_t = AuditRow.__table__  # type: ignore[attr-defined]

# How one record type is written, inside the unit's transaction (uniqueness violations
# propagate as IntegrityError); the combined registry is passed along for records that need
# other modules' parts (a merge moves every feature's rows).
Apply = Callable[[Connection, Any, "RecordSql"], None]
# Records written together once per batch, after every unit's own records (hot-path upserts).
Bulk = Callable[[Connection, BulkSql, Sequence[Any]], None]
# Move one person's rows onto another (source, target): a merge of two people.
Move = Callable[[Connection, int, int], None]


@dataclass(frozen=True)
class RecordSql:
    """How records are written, by record type: what one storage module declares, and what
    the store combines from all of them (the writer names no feature)."""

    apply: Mapping[type[Record], Apply] = field(default_factory=dict)
    safe: frozenset[type[Record]] = frozenset()  # cannot break a uniqueness rule: no savepoint
    bulk: Mapping[type[Record], Bulk] = field(default_factory=dict)
    moves: tuple[Move, ...] = ()

    def write(self, conn: Connection, record: Record) -> None:
        apply = self.apply.get(type(record))
        if apply is None:
            raise TypeError(f"no storage module writes {type(record).__name__} records")
        apply(conn, record, self)

    def move_person(self, conn: Connection, source: int, target: int) -> None:
        for move in self.moves:
            move(conn, source, target)


def combine(*parts: RecordSql) -> RecordSql:
    """One registry from every storage module's; a record type claimed twice is a bug."""
    apply: dict[type[Record], Apply] = {}
    bulk: dict[type[Record], Bulk] = {}
    for part in parts:
        for kind in (*part.apply, *part.bulk):
            if kind in apply or kind in bulk:
                raise ValueError(f"{kind.__name__} records are written by two storage modules")
        apply.update(part.apply)
        bulk.update(part.bulk)
    return RecordSql(apply, frozenset().union(*(p.safe for p in parts)), bulk,
                     tuple(m for p in parts for m in p.moves))


def bind(name: str) -> sa.BindParameter[object]:
    return sa.bindparam(f"b_{name}")


class StaleRecord(sa.exc.IntegrityError):
    """A conditional update found the row changed by someone else (the caller retries)."""

    def __init__(self, what: str) -> None:
        super().__init__(what, None, Exception(what))


def expect_one(result: sa.CursorResult[Any], what: str) -> None:
    if result.rowcount != 1:
        raise StaleRecord(what)


def upsert(conn: Connection, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or update one row by primary key, portably (rare writes, not the hot path)."""
    where = [table.c[name] == value for name, value in key.items()]
    if conn.execute(sa.update(table).where(*where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(table).values(**key, **values))


def _audit(conn: Connection, record: Audit, records: RecordSql) -> None:
    conn.execute(sa.insert(audit_t).values(
        identity=record.identity, action=record.action, detail=record.detail[:1000],
        at=record.at))


CORE = RecordSql(apply={Audit: _audit}, safe=frozenset({Audit}))
