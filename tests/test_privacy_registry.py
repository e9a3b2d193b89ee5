"""The person-data registry against the real, migrated schema: every column that refers to a
person (a foreign key to person.id, or a column named like a person id or an identity key) is
declared by its storage module for `!mydata` and `!forget`; and erasing, over a row written in
every table of the schema, leaves nothing that refers to the person and touches no one else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.model import PersonId
from bot.ports import UnitOfWork
from flows.privacy.records import ErasePerson
from storage.repository import RECORDS, SqlStore

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Columns holding someone's "network:id" key, or their name, go by these names (or end in
# `_by`, `_person_id`, or `_key` other than an idempotency key).
IDENTITY_NAMES = {"identity", "identity_key", "newcomer", "mentor", "mentor_key", "holder",
                  "external_id", "owner", "author", "assignee", "reporter", "sender",
                  "recipient", "user", "username", "nick", "person", "who"}
NOT_PEOPLE = {"idempotency_key", "source_key"}  # reviewed: keys of no person
SKIPPED_TABLES = {"alembic_version"}


def person_column(table: str, name: str, foreign: set[str]) -> bool:
    if name in NOT_PEOPLE:
        return False
    return (name in foreign or name == "person_id" or name in IDENTITY_NAMES
            or name.endswith(("_person_id", "_by"))
            or (name.endswith("_key") and name != "key")
            or (table == "person" and name == "id"))


def schema_references(conn: Connection) -> dict[str, set[str]]:
    """Per table of the migrated database, the columns that refer to a person."""
    inspector = sa.inspect(conn)
    found: dict[str, set[str]] = {}
    for table in inspector.get_table_names():
        if table in SKIPPED_TABLES:
            continue
        foreign = {c for fk in inspector.get_foreign_keys(table)
                   if fk["referred_table"] == "person" for c in fk["constrained_columns"]}
        columns = {c["name"] for c in inspector.get_columns(table)
                   if person_column(table, c["name"], foreign)}
        found[table] = columns
    return found


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    async with SqlStore.open(db_url, durable=False) as opened:
        yield opened


async def test_every_person_reference_is_declared_for_export_and_erasure(
        store: SqlStore) -> None:
    schema = await store.db.read(schema_references)
    declared: dict[str, set[str]] = {}
    for entry in RECORDS.personal:
        assert entry.export, f"{entry.table.name} is left out of !mydata"
        declared.setdefault(entry.table.name, set()).update(entry.columns)
    missing = {f"{table}.{column}" for table, columns in schema.items()
               for column in columns - declared.get(table, set())}
    assert not missing, ("person data not declared for export and erasure (a `Personal` in "
                         f"the table's storage module): {sorted(missing)}")
    assert {"person", "identity", "outbox", "audit", "help_case", "rsvp",
            "certificate"} <= declared.keys()
    assert set(declared) <= set(schema), "a declared table is not in the migrated schema"


def _kind(column: sa.Column[Any]) -> Any:
    kind = column.type
    return kind.impl if isinstance(kind, sa.TypeDecorator) else kind


def _row(table: sa.Table, person: int, key: str, columns: set[str]) -> dict[str, Any]:
    """A row of `table` whose person references are this person's (id or key)."""
    row: dict[str, Any] = {}
    for column in table.columns:
        kind, refers = _kind(column), column.name in columns
        if column.primary_key and isinstance(kind, sa.Integer) and not refers:
            continue  # autoincrement
        if isinstance(kind, sa.Boolean):
            row[column.name] = False
        elif isinstance(kind, sa.Integer):
            row[column.name] = person if refers else 7
        elif isinstance(kind, sa.String):
            row[column.name] = key if refers else f"{column.name[:6]}-{person}"
        elif isinstance(kind, sa.JSON):
            row[column.name] = []
        else:
            row[column.name] = NOW
    if table.name == "outbox":
        row["body"] = {"to": {"kind": "person", "network": "irc", "id": key.split(":")[1]},
                       "text": "hello"}
    if table.name == "due_failure":
        row["key"] = f"nudge:{person}:install"
    if table.name == "help_case":  # the mentors a case was offered to
        row["tried"] = [key, "irc:someone"]
    if table.name == "audit":
        row["detail"] = f"about {key}"
    return row


async def test_erasure_reaches_a_row_in_every_table_and_no_one_else(store: SqlStore) -> None:
    people = {"ana": 0, "bob": 0}
    schema = await store.db.read(schema_references)
    all_tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    assert set(schema) <= set(all_tables)

    def fill(conn: Connection) -> None:
        for name in people:
            person = conn.execute(sa.insert(all_tables["person"]).values(created_at=NOW)
                                  .returning(all_tables["person"].c.id)).scalar_one()
            people[name] = person
            for n, network in enumerate(("irc", "telegram")):
                conn.execute(sa.insert(all_tables["identity"]).values(
                    network=network, external_id=f"{name}{n}", person_id=person,
                    verified=True, created_at=NOW))
            key = f"irc:{name}0"
            for table in all_tables.values():
                if table.name in ("person", "identity", *SKIPPED_TABLES):
                    continue
                conn.execute(sa.insert(table).values(
                    _row(table, person, key, schema.get(table.name, set()))))

    await store.writer.run(fill)
    ana, bob = PersonId(people["ana"]), PersonId(people["bob"])
    exported = await store.person_data(ana)
    empty = sorted(t for t, rows in exported["tables"].items() if not rows)
    assert not empty, f"!mydata leaves out rows of {empty}"
    assert sorted(exported["identities"]) == ["irc:ana0", "telegram:ana1"]
    assert "bob" not in str(exported)
    bob_before = await store.person_data(bob)
    assert all(bob_before["tables"].values())

    await store.commit(UnitOfWork(ana, records=[ErasePerson(ana)]))

    def leftovers(conn: Connection, person: int, keys: tuple[str, ...]) -> list[str]:
        found = []
        for table, columns in schema.items():
            t = all_tables[table]
            for column in columns:
                c = t.c[column]
                match = (c == person) if isinstance(c.type, sa.Integer) else c.in_(keys)
                if conn.execute(sa.select(sa.func.count()).select_from(t).where(match)).scalar():
                    found.append(f"{table}.{column}")
            text_columns = [c for c in t.columns if isinstance(c.type, sa.String | sa.JSON)]
            for c in text_columns:
                for key in keys:
                    if conn.execute(sa.select(sa.func.count()).select_from(t).where(
                            sa.cast(c, sa.Text).contains(key.split(":")[1]))).scalar():
                        found.append(f"{table}.{c.name} mentions {key}")
        return found

    keys_ana = ("irc:ana0", "telegram:ana1")
    assert await store.db.read(lambda conn: leftovers(conn, ana, keys_ana)) == []
    assert await store.person_data(bob) == bob_before  # no one else's rows touched
