"""Export and erasure of one person, over every table a storage module declares person data
in (`RecordSql.personal`, combined by the store): `!mydata` reads through `person_data`, and
an `ErasePerson` record is written after everything else its batch wrote."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.model import PersonId
from flows.privacy.records import ErasePerson
from storage.bulk import BulkSql
from storage.queries import Queries
from storage.records import Expiring, Personal, PersonRef, RecordSql, identity_t, person_t

log = logging.getLogger(__name__)


def person_ref(conn: Connection, person_id: int) -> PersonRef:
    """The person and their identities as they are now, in this transaction."""
    rows = conn.execute(sa.select(identity_t.c.network, identity_t.c.external_id).where(
        identity_t.c.person_id == person_id)).all()
    keys = tuple(f"{r.network}:{r.external_id}" for r in rows)
    # How an outbox body names a message to one of them (bot.model.outbound_to_json), as the
    # writer stores it (compact JSON) and as SQLAlchemy's JSON type does (with spaces).
    addresses = tuple(
        f'"kind":{colon}"person",{space}"network":{colon}{json.dumps(r.network)},{space}'
        f'"id":{colon}{json.dumps(r.external_id)},'
        for r in rows for colon, space in (("", ""), (" ", " ")))
    return PersonRef(person_id, keys, addresses)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _exported_row(table: str, row: dict[str, Any]) -> dict[str, Any]:
    if table == "outbox" and isinstance(row.get("body"), dict) and "file" in row["body"]:
        body = dict(row["body"])
        name, kind, data = body.pop("file")
        body["file"] = {"name": name, "type": kind, "bytes": len(data)}  # not an earlier export
        row = {**row, "body": body}
    return {k: _plain(v) for k, v in row.items()}


def export(conn: Connection, personal: Sequence[Personal], person_id: int) -> dict[str, Any]:
    """Every row about the person, by table (tables without any left out of nothing: each
    declared table is listed, empty or not)."""
    ref = person_ref(conn, person_id)
    tables: dict[str, list[dict[str, Any]]] = {}
    for entry in personal:
        if not entry.export:
            continue
        where = (entry.shown or entry.where)(entry.table, ref)
        rows = [] if where is None else conn.execute(sa.select(entry.table).where(where)).all()
        tables[entry.table.name] = [_exported_row(entry.table.name, dict(r._mapping))
                                    for r in rows]
    return {"person_id": person_id, "identities": list(ref.keys), "tables": tables}


def erase(conn: Connection, personal: Sequence[Personal], person_id: int) -> dict[str, int]:
    """Delete (or, in others' rows, clear) everything about the person; rows per table."""
    ref = person_ref(conn, person_id)
    removed: dict[str, int] = {}
    for entry in personal:
        if entry.erase is not None:
            count = entry.erase(conn, entry.table, ref) if ref.keys else 0
        else:
            where = entry.where(entry.table, ref)
            count = 0 if where is None else int(
                conn.execute(sa.delete(entry.table).where(where)).rowcount or 0)
        if count:
            removed[entry.table.name] = count
    return removed


def _erase_all(personal: Sequence[Personal], conn: Connection, sql: BulkSql,
               records: Sequence[ErasePerson]) -> None:
    for person in dict.fromkeys(r.person_id for r in records):
        removed = erase(conn, personal, person)
        log.info("erased person %d: %s", person,
                 ", ".join(f"{n} {t}" for t, n in removed.items()) or "nothing held")


def erasure(registry: RecordSql) -> RecordSql:
    """How ErasePerson records are written, over `registry`'s person data (every module's):
    after every other bulk statement of the batch, so nothing written for the person in the
    same batch (their state, a projection) is left behind."""
    return RecordSql(bulk={ErasePerson: partial(_erase_all, registry.personal)},
                     final=frozenset({ErasePerson}))


def expire(conn: Connection, expiring: Sequence[Expiring],
           before: Mapping[str, datetime]) -> dict[str, int]:
    """Delete or clear what is older than its limit; how many rows, by what they are."""
    done: dict[str, int] = {}
    for entry in expiring:
        cutoff = before.get(entry.limit)
        if cutoff is None:
            continue
        table = entry.table
        where = [table.c[entry.since] < cutoff]
        if entry.where is not None:
            where.append(entry.where(table))
        if entry.clear is None:
            count = conn.execute(sa.delete(table).where(*where)).rowcount
        else:
            count = conn.execute(sa.update(table).where(*where).values(dict(entry.clear))
                                 ).rowcount
        if count:
            done[entry.what] = done.get(entry.what, 0) + int(count)
    return done


class PrivacyQueries(Queries):
    async def person_named(self, who: str) -> PersonId | None:
        """The person behind "network:id" (or a person id), never created."""
        network, colon, external_id = who.strip().partition(":")
        if colon:
            row = await self._one(sa.select(identity_t.c.person_id).where(
                identity_t.c.network == network, identity_t.c.external_id == external_id))
            return None if row is None else PersonId(row.person_id)
        if network.isdigit():
            row = await self._one(sa.select(person_t.c.id).where(person_t.c.id == int(network)))
            return None if row is None else PersonId(row.id)
        return None

    async def expire(self, before: Mapping[str, datetime]) -> dict[str, int]:
        """[retention]: what is past its limit goes (storage modules' `expiring`)."""
        expiring = self.writer.records.expiring
        done: dict[str, int] = await self.writer.run(lambda conn: expire(conn, expiring, before))
        return done

    async def person_data(self, person_id: PersonId) -> dict[str, Any]:
        personal = self.writer.records.personal
        return await self.db.read(lambda conn: export(conn, personal, person_id))
