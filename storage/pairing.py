"""The pairing feature's tables: who may be paired (a projection of the state, written when it
changes) and the introductions made; its query, and how its records apply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import ExternalId, Identity, Network, PersonId
from bot.records import Record
from flows.pairing.records import Candidate, Paired, PairStanding
from storage.bulk import BulkSql
from storage.queries import Queries
from storage.records import Personal, RecordSql, by_person, identity_t
from storage.tables import Table, _when, partial


class PairStandingRow(Table, table=True):
    """Who may be paired, one row per person: projected from their state."""

    __tablename__ = "pair_standing"
    __table_args__ = (
        sa.Index("ix_pair_standing_pair", "project", "person_id",
                 **partial("pair")),
    )
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    project: str = Field(default="", max_length=64)
    pair: bool = False
    reach: str = Field(default="", max_length=32)


class PairingRow(Table, table=True):
    """Two newcomers of a project introduced to each other."""

    __tablename__ = "pairing"
    __table_args__ = (sa.Index("ix_pairing_second", "second_id"),)
    id: int | None = Field(default=None, primary_key=True)
    project: str = Field(max_length=64)
    first_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    second_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    at: datetime = _when()


pair_standing_t = PairStandingRow.__table__  # type: ignore[attr-defined]
pairing_t = PairingRow.__table__  # type: ignore[attr-defined]


class PairingQueries(Queries):
    async def pair_candidates(self, paired_before: datetime) -> list[Candidate]:
        s = pair_standing_t
        recent = sa.select(pairing_t.c.id).where(
            sa.or_(pairing_t.c.first_id == s.c.person_id, pairing_t.c.second_id == s.c.person_id),
            pairing_t.c.at > paired_before)
        rows = await self._all(
            sa.select(s.c.person_id, s.c.project, identity_t.c.network,
                      identity_t.c.external_id, identity_t.c.verified)
            .select_from(s.join(identity_t, sa.and_(identity_t.c.person_id == s.c.person_id,
                                                   identity_t.c.network == s.c.reach)))
            .where(s.c.pair.is_(True), s.c.project != "", ~sa.exists(recent))
            .order_by(s.c.project, s.c.person_id).limit(2000))
        people = sorted({r.person_id for r in rows})
        partners: dict[int, set[int]] = {}
        for start in range(0, len(people), 500):
            chunk = people[start:start + 500]
            for r in await self._all(sa.select(pairing_t.c.first_id, pairing_t.c.second_id)
                                     .where(sa.or_(pairing_t.c.first_id.in_(chunk),
                                                   pairing_t.c.second_id.in_(chunk)))):
                partners.setdefault(r.first_id, set()).add(r.second_id)
                partners.setdefault(r.second_id, set()).add(r.first_id)
        found: list[Candidate] = []
        seen: set[int] = set()
        for r in rows:
            if r.person_id in seen:  # two accounts on one network: one of them
                continue
            seen.add(r.person_id)
            found.append(Candidate(
                PersonId(r.person_id), r.project,
                Identity(Network(r.network), ExternalId(r.external_id), r.verified),
                frozenset(PersonId(p) for p in partners.get(r.person_id, ()))))
        return found


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case Paired():
            conn.execute(sa.insert(pairing_t).values(
                project=record.project, first_id=record.first, second_id=record.second,
                at=record.at))


def _standings(conn: Connection, sql: BulkSql, records: Sequence[PairStanding]) -> None:
    rows = {r.person_id: (r.person_id, r.project, r.pair, r.reach) for r in records}
    sql.run_many(
        conn,
        "INSERT INTO pair_standing (person_id, project, pair, reach) "
        f"VALUES {sql._values(1, 4)} ON CONFLICT (person_id) DO UPDATE SET "
        "project = excluded.project, pair = excluded.pair, reach = excluded.reach",
        list(rows.values()))


def _move_person(conn: Connection, source: int, target: int) -> None:
    # The target's standing is projected again from the merged state; introductions move.
    conn.execute(sa.delete(pair_standing_t).where(pair_standing_t.c.person_id == source))
    for column in (pairing_t.c.first_id, pairing_t.c.second_id):
        conn.execute(sa.update(pairing_t).where(column == source).values({column.name: target}))


RECORDS = RecordSql(
    apply={Paired: _apply},
    safe=frozenset({Paired}),
    bulk={PairStanding: _standings},
    moves=(_move_person,),
    personal=(
        Personal(pair_standing_t, ("person_id",), by_person()),
        # An introduction is both people's: each one's export shows it, and forgetting
        # either one deletes it.
        Personal(pairing_t, ("first_id", "second_id"),
                 lambda table, ref: sa.or_(table.c.first_id == ref.person_id,
                                           table.c.second_id == ref.person_id)),
    ))
