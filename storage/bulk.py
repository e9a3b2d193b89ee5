"""The hot path's SQL, written out: inbox, flow state, events and outbox rows for a batch.

These four statements run for every message. Through SQLAlchemy's compiler and type system
each row costs more Python than the database spends on it, so they are sent as driver SQL with
values already in the form the column types store (the reads still go through the types:
SQLite keeps naive UTC text in SQLAlchemy's DATETIME format, JSON is text on both).
The contract tests read every row back through the tables on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from storage.database import sqlite_execute

SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_when(value: datetime) -> str:
    """An aware datetime as UtcDateTime stores it on SQLite (naive UTC text), for a record's
    driver SQL; a naive one is refused, as UtcDateTime refuses it."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
    return value.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_DATETIME)


class BulkSql:
    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def when(self, value: datetime) -> Any:
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None).strftime(SQLITE_DATETIME) if self.sqlite else utc

    def run(self, conn: Connection, statement: str, params: Sequence[Any]) -> list[Any]:
        """One statement of the hot path; its rows, if it returns any. On SQLite straight to
        the driver (see `sqlite_execute`), on PostgreSQL through SQLAlchemy (asyncpg)."""
        if self.sqlite:
            return sqlite_execute(conn, statement, params)
        result = conn.exec_driver_sql(statement, tuple(params))
        return list(result.all()) if result.returns_rows else []

    def run_many(self, conn: Connection, statement: str, rows: Sequence[Any]) -> None:
        """One statement for each of `rows` (executemany)."""
        if self.sqlite:
            sqlite_execute(conn, statement, rows, many=True)
        else:
            conn.exec_driver_sql(statement, list(rows))

    def _p(self, n: int) -> str:
        return "?" if self.sqlite else f"${n}"

    def ensure_person(self, conn: Connection, network: str, external_id: str, verified: bool,
                      at: Any, event: tuple[str, str] | None = None) -> tuple[int, bool]:
        """The person behind an identity (and whether they are new); created on first
        contact; verification only grows. An unknown identity whose `event` is in the inbox
        already is not created (0): a replayed event of someone erased since."""
        p = self._p
        where = f"network = {p(1)} AND external_id = {p(2)}"
        row = conn.exec_driver_sql(f"SELECT person_id, verified FROM identity WHERE {where}",
                                   (network, external_id)).first()
        if row is not None:
            if verified and not row[1]:
                conn.exec_driver_sql(f"UPDATE identity SET verified = {p(1)} WHERE network = "
                                     f"{p(2)} AND external_id = {p(3)}",
                                     (True, network, external_id))
            return int(row[0]), False
        if event is not None and conn.exec_driver_sql(
                f"SELECT 1 FROM inbox WHERE network = {p(1)} AND event_id = {p(2)}",
                event).first() is not None:
            return 0, False
        person = int(conn.exec_driver_sql(
            f"INSERT INTO person (created_at) VALUES ({p(1)}) RETURNING id", (at,)).scalar_one())
        if self.sqlite:  # one process per file: nobody else creates it meanwhile
            conn.exec_driver_sql(
                "INSERT INTO identity (network, external_id, person_id, verified, created_at) "
                f"VALUES {self._values(1, 5)}", (network, external_id, person, verified, at))
            return person, True
        # PostgreSQL: another process may be creating the same person right now (their first
        # messages on two networks' processes); the first identity row wins.
        if conn.exec_driver_sql(
                "INSERT INTO identity (network, external_id, person_id, verified, created_at) "
                f"VALUES {self._values(1, 5)} ON CONFLICT DO NOTHING RETURNING person_id",
                (network, external_id, person, verified, at)).first() is None:
            conn.exec_driver_sql(f"DELETE FROM person WHERE id = {p(1)}", (person,))
            return self.ensure_person(conn, network, external_id, verified, at, None)
        return person, True

    def _values(self, rows: int, columns: int) -> str:
        if self.sqlite:
            one = "(" + ",".join("?" * columns) + ")"
            return ",".join([one] * rows)
        return ",".join("(" + ",".join(f"${r * columns + c + 1}" for c in range(columns)) + ")"
                        for r in range(rows))

    def insert_inbox(self, conn: Connection, rows: Sequence[tuple[str, str, Any]]) -> set[
            tuple[str, str]]:
        """Insert-or-ignore; returns the (network, event_id) pairs that were new."""
        sql = (f"INSERT INTO inbox (network, event_id, received_at) VALUES "
               f"{self._values(len(rows), 3)} ON CONFLICT DO NOTHING "
               f"RETURNING network, event_id")
        result = self.run(conn, sql, tuple(v for row in rows for v in row))
        return {(r[0], r[1]) for r in result}

    def upsert_states(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """(person_id, flow, step, data_json, updated_at) per row, one execution each."""
        sql = ("INSERT INTO flow_state (person_id, flow, step, data, updated_at, version) "
               f"VALUES {self._values(1, 5)[:-1]}, 1) ON CONFLICT (person_id) DO UPDATE SET "
               "flow = excluded.flow, step = excluded.step, data = excluded.data, "
               "updated_at = excluded.updated_at, version = flow_state.version + 1")
        self.run_many(conn, sql, rows)

    def lock_states(self, conn: Connection, people: Sequence[int], at: Any) -> dict[int, int]:
        """PostgreSQL: lock the state rows of `people` until the transaction ends, in id order
        (two processes' batches cannot deadlock on them), and return their committed
        versions. A person with no state row yet gets one at version 0, locked like the
        others (a concurrent first commit waits, then sees version 1); a person deleted since
        (merged, erased) has none and is absent from the answer."""
        ordered = sorted(set(people))
        conn.exec_driver_sql(
            "INSERT INTO flow_state (person_id, flow, step, data, updated_at, version) "
            "SELECT id, NULL, NULL, '{}', $2, 0 FROM person WHERE id = ANY($1::bigint[]) "
            "ORDER BY id ON CONFLICT (person_id) DO NOTHING", (ordered, at))
        rows = conn.exec_driver_sql(
            "SELECT person_id, version FROM flow_state WHERE person_id = ANY($1::bigint[]) "
            "ORDER BY person_id FOR UPDATE", (ordered,))
        return {int(r[0]): int(r[1]) for r in rows}

    def insert_events(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """(person_id, kind, detail_json, at) per row."""
        sql = ("INSERT INTO progress_event (person_id, kind, detail, at) VALUES "
               f"{self._values(1, 4)}")
        self.run_many(conn, sql, rows)

    def insert_outbox(self, conn: Connection, rows: Sequence[tuple[Any, ...]],
                      lease: tuple[str, Any, Collection[str]] | None = None) -> dict[str, int]:
        """(key, network, person_id, body_json, created_at) per row; returns key -> id.
        With a lease (owner, until, networks), the rows to those networks are that process's
        to send (PostgreSQL); rows to other networks are for the processes that run them."""
        owner, until, mine = lease or ("", None, ())
        columns = 12
        sql = ("INSERT INTO outbox (idempotency_key, network, person_id, body, status, "
               "attempts, last_error, created_at, updated_at, resent, lease_owner, "
               f"lease_until) VALUES {self._values(len(rows), columns)} "
               "RETURNING id, idempotency_key")
        params: list[Any] = []
        for key, network, person, body, at in rows:
            leased = network in mine
            params += [key, network, person, body, "pending", 0, "", at, at, 0,
                       owner if leased else "", until if leased else None]
        return {r[1]: r[0] for r in self.run(conn, sql, params)}

    def insert_broadcast_outbox(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """(key, network, person_id, body_json, status, not_before, created_at, broadcast_id)
        per row; a key already queued (the person was invited before) is skipped."""
        sql = ("INSERT INTO outbox (idempotency_key, network, person_id, body, status, "
               "not_before, created_at, updated_at, broadcast_id, attempts, last_error, "
               f"resent) VALUES {self._values(1, 12)} ON CONFLICT DO NOTHING")
        conn.exec_driver_sql(sql, [(key, network, person, body, status, not_before, at, at,
                                    broadcast, 0, "", 0)
                                   for key, network, person, body, status, not_before, at,
                                   broadcast in rows])

    def analyze_outbox(self, conn: Connection) -> None:
        """After a bulk load, so PostgreSQL knows most rows are unsent: with the stale
        statistics of a fresh table it estimated ~100 and sorted every unsent row for each
        of the feeder's pages (20 ms a page at 100,000 queued) instead of walking
        ix_outbox_unsent. SQLite plans these queries well without statistics."""
        if not self.sqlite:
            conn.exec_driver_sql("ANALYZE outbox")

    def mark_outbox(self, conn: Connection, ids: Sequence[int], status: str, at: Any) -> None:
        """Set the status of delivered (or dead) rows, all in one statement."""
        if self.sqlite:
            marks = ",".join("?" * len(ids))
            sql = f"UPDATE outbox SET status = ?, updated_at = ? WHERE id IN ({marks})"
        else:
            marks = ",".join(f"${n + 3}" for n in range(len(ids)))
            sql = f"UPDATE outbox SET status = $1, updated_at = $2 WHERE id IN ({marks})"
        self.run(conn, sql, (status, at, *ids))
