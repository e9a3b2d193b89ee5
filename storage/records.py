"""How records are written: the registry each storage module declares (record type -> how it
applies in a unit of work), combined by the store; and the core's own records (audit rows)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.records import Audit, DiscardMessage, Record, RetryMessage
from storage.bulk import BulkSql
from storage.tables import (
    AuditRow,
    DueFailureRow,
    FlowState,
    IdentityRow,
    InboxRow,
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
due_failure_t = DueFailureRow.__table__  # type: ignore[attr-defined]
inbox_t = InboxRow.__table__  # type: ignore[attr-defined]

# How one record type is written, inside the unit's transaction (uniqueness violations
# propagate as IntegrityError); the combined registry is passed along for records that need
# other modules' parts (a merge moves every feature's rows).
Apply = Callable[[Connection, Any, "RecordSql"], None]
# Records written together once per batch, after every unit's own records (hot-path upserts).
Bulk = Callable[[Connection, BulkSql, Sequence[Any]], None]
# Move one person's rows onto another (source, target): a merge of two people.
Move = Callable[[Connection, int, int], None]


@dataclass(frozen=True)
class PersonRef:
    """Whom an export or an erasure is about: the person and every identity of theirs, as
    "network:id" keys (how config, content, audit rows and cases name people)."""

    person_id: int
    keys: tuple[str, ...]
    # The destinations of their identities as outbox bodies spell them (compact JSON).
    addresses: tuple[str, ...] = ()


# Which rows of a table are about a person; None: none can be (e.g. no identity keys).
Where = Callable[[sa.Table, PersonRef], "sa.ColumnElement[bool] | None"]
# What erasing does to those rows, when not deleting them: another person's row that merely
# mentions them keeps its own data and loses the mention. Returns how many rows it changed.
Erase = Callable[[Connection, sa.Table, PersonRef], int]


@dataclass(frozen=True)
class Personal:
    """Where one table keeps data about a person: the columns that refer to a person (a test
    compares them with the migrated schema), which rows are theirs, whether `!mydata` exports
    them, and how `!forget` erases them (default: the rows are deleted)."""

    table: sa.Table
    columns: tuple[str, ...]
    where: Where
    export: bool = True
    erase: Erase | None = None
    # The rows `!mydata` shows, when not all of `where` (a case a forgotten mentor held is
    # the newcomer's data: erasing clears the mentor from it, the export leaves it out).
    shown: Where | None = None


def by_person(column: str = "person_id") -> Where:
    """Rows whose `column` holds the person's id."""
    return lambda table, ref: table.c[column] == ref.person_id


def by_identity(*columns: str) -> Where:
    """Rows where any of `columns` holds one of the person's identity keys."""
    def where(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool] | None:
        if not ref.keys:
            return None
        return sa.or_(*(table.c[c].in_(ref.keys) for c in columns))
    return where


def blank_identity(*columns: str) -> Erase:
    """Erase by clearing the columns that hold one of the person's keys (the row is someone
    else's: a case the forgotten mentor held, an event they created)."""
    def erase(conn: Connection, table: sa.Table, ref: PersonRef) -> int:
        changed = 0
        for column in columns:
            changed += int(conn.execute(sa.update(table).where(
                table.c[column].in_(ref.keys)).values({column: ""})).rowcount or 0)
        return changed
    return erase


@dataclass(frozen=True)
class Expiring:
    """Data kept only for a while ([retention]): rows of `table` whose `since` column is
    older than the limit named `limit` are deleted, or, with `clear`, keep their row and lose
    those columns' values. `where` narrows the rows (only resolved cases, only sent messages,
    only those not cleared yet); `what` names them in the daily report."""

    limit: str
    table: sa.Table
    since: str
    what: str
    clear: Mapping[str, Any] | None = None
    where: Callable[[sa.Table], sa.ColumnElement[bool]] | None = None


@dataclass(frozen=True)
class RecordSql:
    """How records are written, by record type: what one storage module declares, and what
    the store combines from all of them (the writer names no feature)."""

    apply: Mapping[type[Record], Apply] = field(default_factory=dict)
    safe: frozenset[type[Record]] = frozenset()  # cannot break a uniqueness rule: no savepoint
    bulk: Mapping[type[Record], Bulk] = field(default_factory=dict)
    moves: tuple[Move, ...] = ()
    # Where each table keeps data about a person (export and erasure: storage/privacy.py).
    personal: tuple[Personal, ...] = ()
    # Bulk records written after every other bulk statement of a batch (an erasure, after
    # the state and the rows the same batch wrote for the person).
    final: frozenset[type[Record]] = frozenset()
    # What is kept only for a while (storage/privacy.py `expire`, run daily).
    expiring: tuple[Expiring, ...] = ()

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
    personal = tuple(t for p in parts for t in p.personal)
    tables = [t.table.name for t in personal]
    twice = sorted({name for name in tables if tables.count(name) > 1})
    if twice:
        raise ValueError(f"person data of {', '.join(twice)} is declared twice")
    return RecordSql(apply, frozenset().union(*(p.safe for p in parts)), bulk,
                     tuple(m for p in parts for m in p.moves), personal,
                     frozenset().union(*(p.final for p in parts)),
                     tuple(e for p in parts for e in p.expiring))


def bind(name: str) -> sa.BindParameter[object]:
    return sa.bindparam(f"b_{name}")


class StaleRecord(sa.exc.IntegrityError):
    """A conditional update found the row changed by someone else (the caller retries)."""

    def __init__(self, what: str) -> None:
        super().__init__(what, None, Exception(what))


def expect_one(result: sa.CursorResult[Any], what: str) -> None:
    if result.rowcount != 1:
        raise StaleRecord(what)


def move_rows(conn: Connection, table: sa.Table, source: int, target: int,
              key: str = "") -> None:
    """A merge of two people: the source's rows in `table` become the target's, except where
    the target already has one for the same `key` (without a key: one at all), which stands."""
    person, theirs = table.c.person_id, table.alias("theirs")
    held = sa.select(theirs.c[key] if key else theirs.c.person_id).where(
        theirs.c.person_id == target)
    clash = table.c[key].in_(held) if key else held.exists()
    conn.execute(sa.delete(table).where(person == source, clash))
    conn.execute(sa.update(table).where(person == source).values(person_id=target))


def upsert(conn: Connection, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or update one row by primary key, portably (rare writes, not the hot path)."""
    where = [table.c[name] == value for name, value in key.items()]
    if conn.execute(sa.update(table).where(*where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(table).values(**key, **values))


def _audit(conn: Connection, record: Audit, records: RecordSql) -> None:
    conn.execute(sa.insert(audit_t).values(
        identity=record.identity, action=record.action, detail=record.detail[:1000],
        at=record.at))


_DEAD = ("dead", "unknown")


def _retry(conn: Connection, record: RetryMessage, records: RecordSql) -> None:
    expect_one(conn.execute(sa.update(outbox_t).where(
        outbox_t.c.id == record.outbox_id, outbox_t.c.status.in_(_DEAD)).values(
        status="pending", attempts=0, updated_at=record.at, lease_owner="", lease_until=None,
        not_before=None)), "not a dead letter any more")


def _discard(conn: Connection, record: DiscardMessage, records: RecordSql) -> None:
    expect_one(conn.execute(sa.update(outbox_t).where(
        outbox_t.c.id == record.outbox_id, outbox_t.c.status.in_(_DEAD)).values(
        status="discarded", updated_at=record.at)), "not a dead letter any more")


def _like(column: sa.ColumnElement[Any], text: str) -> sa.ColumnElement[bool]:
    return column.contains(text, autoescape=True)


def _audit_about(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool] | None:
    """What they did, and what others did naming them (`!mentor add irc:ana`)."""
    if not ref.keys:
        return None
    return sa.or_(table.c.identity.in_(ref.keys),
                  *(_like(table.c.detail, key) for key in ref.keys))


def _erase_audit(conn: Connection, table: sa.Table, ref: PersonRef) -> int:
    gone = int(conn.execute(sa.delete(table).where(table.c.identity.in_(ref.keys))).rowcount)
    for key in ref.keys:
        gone += int(conn.execute(sa.update(table).where(_like(table.c.detail, key)).values(
            detail=sa.func.replace(table.c.detail, key, "(forgotten)"))).rowcount)
    return gone


def _outbox_to(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool]:
    """Messages their turns queued, and messages to one of their identities (a mentor's
    answer, an invite)."""
    body = sa.cast(table.c.body, sa.Text)
    return sa.or_(table.c.person_id == ref.person_id,
                  *(_like(body, address) for address in ref.addresses))


def _due_of(table: sa.Table, ref: PersonRef) -> sa.ColumnElement[bool]:
    """Failed due work keyed by their id ("nudge:<id>:...", "idle:<id>:...")."""
    return _like(table.c.key, f":{ref.person_id}:")


CORE = RecordSql(apply={Audit: _audit, RetryMessage: _retry, DiscardMessage: _discard},
                 safe=frozenset({Audit}), personal=(
    Personal(state_t, ("person_id",), by_person()),
    Personal(event_t, ("person_id",), by_person()),
    Personal(outbox_t, ("person_id",), _outbox_to),
    Personal(audit_t, ("identity",), _audit_about, erase=_erase_audit),
    Personal(due_failure_t, ("key",), _due_of),
    # Last: the rows above may refer to these.
    Personal(identity_t, ("person_id", "network", "external_id"), by_person()),
    Personal(person_t, ("id",), lambda table, ref: table.c.id == ref.person_id),
), expiring=(
    # Dedupe needs an event's id only while a network may hand it over again.
    Expiring("inbox", inbox_t, "received_at", "inbox rows"),
    # The goodbye to someone forgotten (written after their erasure) goes once delivered.
    Expiring("inbox", outbox_t, "updated_at", "messages to forgotten people",
             where=lambda t: sa.and_(t.c.status == "sent", t.c.person_id.is_not(None),
                                     ~sa.exists().where(person_t.c.id == t.c.person_id))),
    # A delivered message's row stays (a broadcast counts whom it reached); its text goes.
    Expiring("sent_messages", outbox_t, "updated_at", "texts of sent messages",
             clear={"body": {}}, where=lambda t: sa.and_(
                 t.c.status == "sent", sa.cast(t.c.body, sa.Text) != "{}")),
))
