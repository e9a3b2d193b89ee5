"""The account feature's table (link codes), its queries, and how its records apply in a unit
of work: a merge moves the core's rows (identities, progress events, outbox), the account's,
and every other feature's (their storage modules' moves), then deletes the source person."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import PersonId
from bot.records import Record
from flows.account.records import LinkCode, MergePersons, UseLinkCode
from storage.queries import Queries
from storage.records import (
    Expiring,
    Personal,
    RecordSql,
    bind,
    by_person,
    event_t,
    expect_one,
    identity_t,
    outbox_t,
    person_t,
    state_t,
)
from storage.tables import Table, _when


class LinkCodeRow(Table, table=True):
    __tablename__ = "link_code"
    code: str = Field(primary_key=True, max_length=32)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    created_at: datetime = _when()
    expires_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)


link_t = LinkCodeRow.__table__  # type: ignore[attr-defined]


class AccountQueries(Queries):
    async def link_code(self, code: str) -> LinkCode | None:
        row = await self._one(sa.select(link_t).where(link_t.c.code == code))
        if row is None:
            return None
        return LinkCode(row.code, PersonId(row.person_id), row.created_at, row.expires_at,
                        row.used_at is not None)

    async def link_codes_since(self, person_id: PersonId, since: datetime) -> int:
        stmt = sa.select(sa.func.count()).select_from(link_t).where(
            link_t.c.person_id == person_id, link_t.c.created_at >= since)
        return int((await self._one(stmt))[0])


# Built once: a statement object per call would be compiled-cache-keyed again every time.
_LINK_CODE = sa.insert(link_t)
_USE_LINK_CODE = sa.update(link_t).where(
    link_t.c.code == bind("code"), link_t.c.used_at.is_(None)).values(used_at=bind("at"))


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case LinkCode():
            conn.execute(_LINK_CODE, {"code": record.code, "person_id": record.person_id,
                                      "created_at": record.created_at,
                                      "expires_at": record.expires_at, "used_at": None})
        case UseLinkCode():
            expect_one(conn.execute(_USE_LINK_CODE, {"b_code": record.code,
                                                      "b_at": datetime.now(UTC)}),
                        "link code already used")
        case MergePersons():
            _merge(conn, record, records)


def _merge(conn: Connection, record: MergePersons, records: RecordSql) -> None:
    source, target = record.source, record.target
    for table in (identity_t, link_t, event_t, outbox_t):
        conn.execute(sa.update(table).where(table.c.person_id == source).values(
            person_id=target))
    records.move_person(conn, source, target)  # every feature's own rows
    # The source's path state was folded into the target's by the flow; drop the rest.
    conn.execute(sa.delete(state_t).where(state_t.c.person_id == source))
    conn.execute(sa.delete(person_t).where(person_t.c.id == source))


RECORDS = RecordSql(apply=dict.fromkeys((LinkCode, UseLinkCode, MergePersons), _apply),
                    personal=(Personal(link_t, ("person_id",), by_person()),),
                    # A link code is of no use once expired: it goes with the inbox's limit.
                    expiring=(Expiring("inbox", link_t, "expires_at", "expired link codes"),))
