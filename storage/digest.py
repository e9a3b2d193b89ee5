"""The digest feature's table (its readers and the week each was last sent), its queries
(the funnel's week, dead letters) and how its records apply in a unit of work."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import PersonId
from bot.records import Record
from flows.digest.records import DigestSent, Reader, Recipient
from storage.queries import Queries
from storage.records import Personal, RecordSql, by_person, due_failure_t, event_t, outbox_t, upsert
from storage.tables import Table, _when


class DigestReaderRow(Table, table=True):
    """A mentor or organizer who gets the weekly digest, at the verified identity their
    roles come from (the digest's projection of their turns)."""

    __tablename__ = "digest_reader"
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    identity_key: str = Field(max_length=300)
    roles: str = Field(max_length=64)
    sent_week: datetime | None = _when(nullable=True)  # the slot of the last digest sent


reader_t = DigestReaderRow.__table__  # type: ignore[attr-defined]


class DigestQueries(Queries):
    async def digest_due(self, week: datetime, limit: int) -> list[Recipient]:
        rows = await self._all(sa.select(reader_t).where(
            sa.or_(reader_t.c.sent_week.is_(None), reader_t.c.sent_week < week))
            .order_by(reader_t.c.person_id).limit(limit))
        return [Recipient(PersonId(r.person_id), r.identity_key,
                          tuple(r.roles.split(",")), r.sent_week) for r in rows]

    async def funnel_counts(self, since: datetime) -> dict[str, int]:
        rows = await self._all(sa.select(event_t.c.kind, sa.func.count())
                               .where(event_t.c.at >= since).group_by(event_t.c.kind))
        return {r[0]: int(r[1]) for r in rows}

    async def dead_letter_counts(self) -> tuple[int, int]:
        messages = await self._one(sa.select(sa.func.count()).select_from(outbox_t).where(
            outbox_t.c.status == "dead"))
        work = await self._one(sa.select(sa.func.count()).select_from(due_failure_t).where(
            due_failure_t.c.dead_at.is_not(None)))
        return (int(messages[0]) if messages else 0, int(work[0]) if work else 0)


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case Reader() if record.roles:
            upsert(conn, reader_t, {"person_id": record.person_id},
                   {"identity_key": record.identity_key[:300], "roles": record.roles[:64]})
        case Reader():
            conn.execute(sa.delete(reader_t).where(reader_t.c.person_id == record.person_id))
        case DigestSent():
            conn.execute(sa.update(reader_t).where(
                reader_t.c.person_id == record.person_id).values(sent_week=record.week))


def _move_person(conn: Connection, source: int, target: int) -> None:
    # The target's reader row is projected again from the merged person's next turn.
    conn.execute(sa.delete(reader_t).where(reader_t.c.person_id == source))


RECORDS = RecordSql(
    apply=dict.fromkeys((Reader, DigestSent), _apply),
    safe=frozenset({Reader, DigestSent}),
    moves=(_move_person,),
    # Which of their identities gets the digest, and their roles: theirs.
    personal=(Personal(reader_t, ("person_id", "identity_key"), by_person()),))
