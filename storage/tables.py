"""SQLModel tables. Schema changes go through Alembic migrations in storage/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# The key under which a partial index keeps its condition for PostgreSQL (`partial`).
PG_WHERE = "postgresql_where"


def partial(where: str) -> dict[str, Any]:
    """Options of an index over the rows `where` holds (sa.Index(..., **partial("x IS NULL"))).
    SQLite's form is named now; PostgreSQL's is kept aside and named by `name_postgresql_where`
    when a PostgreSQL store opens: naming it here loaded SQLAlchemy's PostgreSQL dialect
    (2.4 MB) into every SQLite bot. The migrations create the indexes on both."""
    return {"sqlite_where": sa.text(where), "info": {PG_WHERE: where}}


class Table(SQLModel):
    """What every table's row class derives from (`class XRow(Table, table=True)`). Rows are
    written and read through SQLAlchemy, never validated by pydantic: their validators and
    serializers are built on first use only (about 0.4 MB resident for all tables, never
    used by a running bot)."""

    model_config = ConfigDict(defer_build=True)  # type: ignore[assignment]


def name_postgresql_where() -> None:
    """Give every partial index its PostgreSQL condition (and load that dialect)."""
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            where = index.info.get(PG_WHERE)
            if where is not None and PG_WHERE not in index.dialect_kwargs:
                index.dialect_kwargs[PG_WHERE] = sa.text(where)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Stores UTC, always hands back an aware datetime (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UtcDateTime(), nullable=nullable, index=index))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))


class Person(Table, table=True):
    __tablename__ = "person"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _when()


class IdentityRow(Table, table=True):
    __tablename__ = "identity"
    # Audiences join a person to their identity on the network invites go to.
    __table_args__ = (sa.Index("ix_identity_person_network", "person_id", "network"),)
    network: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=255)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    verified: bool = False
    created_at: datetime = _when()


class FlowState(Table, table=True):
    __tablename__ = "flow_state"
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    flow: str | None = Field(default=None, max_length=64)
    step: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = _json()
    updated_at: datetime = _when()
    # Bumped by every commit; on PostgreSQL a commit is a compare-and-set on it (storage/writer).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class ProgressEvent(Table, table=True):
    __tablename__ = "progress_event"
    __table_args__ = (sa.Index("ix_progress_event_person_kind", "person_id", "kind", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE")
    kind: str = Field(max_length=64)
    detail: dict[str, Any] = _json()
    at: datetime = _when()


class InboxRow(Table, table=True):
    __tablename__ = "inbox"
    network: str = Field(primary_key=True, max_length=32)
    event_id: str = Field(primary_key=True, max_length=255)
    received_at: datetime = _when()


class OutboxRowTable(Table, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_status", "status", "id"),
        sa.Index("ix_outbox_broadcast", "broadcast_id", "status",
                 **partial("broadcast_id IS NOT NULL")),
        sa.Index("ix_outbox_deferred", "not_before",
                 **partial("status = 'deferred'")),
        # The feeder's pages (unsent rows in id order): on (status, id) PostgreSQL gathered
        # every unsent row and sorted them for each page, 20 ms per page at 100,000 queued.
        sa.Index("ix_outbox_unsent", "id",
                 **partial("status IN ('pending', 'sending')")),
    )
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=255, unique=True)
    network: str = Field(max_length=32)
    person_id: int | None = Field(default=None, index=True)
    body: dict[str, Any] = _json()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    broadcast_id: int | None = None
    not_before: datetime | None = _when(nullable=True)  # deferred (quiet hours) until then
    resent: int = 0  # handed to an adapter again after a restart: a duplicate is possible
    parts_sent: int = 0  # parts of a split message delivered: a retry sends only the rest
    # PostgreSQL, several processes: the process sending the row, and until when (renewed
    # while it runs); a row whose lease ran out is another process's to take (bot/outbox.py).
    lease_owner: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    lease_until: datetime | None = _when(nullable=True)


class AuditRow(Table, table=True):
    __tablename__ = "audit"
    id: int | None = Field(default=None, primary_key=True)
    identity: str = Field(max_length=300, index=True)
    action: str = Field(max_length=64)
    detail: str = Field(default="", max_length=1000)
    at: datetime = _when()


class DueFailureRow(Table, table=True):
    """Due work (a nudge, an escalation, an idle claim, a broadcast) that failed: its attempts,
    and once it has used them all, when it became a dead letter (never run again)."""

    __tablename__ = "due_failure"
    key: str = Field(primary_key=True, max_length=1000)
    attempts: int = 0
    last_error: str = Field(default="", max_length=1000)
    first_failed_at: datetime = _when()
    last_failed_at: datetime = _when()
    dead_at: datetime | None = _when(nullable=True)
