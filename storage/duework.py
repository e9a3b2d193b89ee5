"""Attempt counts and dead letters of due work (table due_failure)."""

from __future__ import annotations

import importlib
from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.ports import DueFailure
from storage.tables import DueFailureRow

failure_t = DueFailureRow.__table__  # type: ignore[attr-defined]
KEYS_PER_QUERY = 500  # keys of one IN (...) list: well under either database's limit


def _failure(row: Any) -> DueFailure:
    return DueFailure(row.key, row.attempts, row.last_error, row.last_failed_at,
                      row.dead_at is not None)


def failures(conn: Connection, keys: Collection[str] | None = None,
             dead_only: bool = False) -> dict[str, DueFailure]:
    """The failures of `keys` (every one if None), oldest first; only dead letters if
    `dead_only`."""
    query = sa.select(failure_t).order_by(failure_t.c.last_failed_at)
    if dead_only:
        query = query.where(failure_t.c.dead_at.is_not(None))
    if keys is None:
        return {row.key: _failure(row) for row in conn.execute(query)}
    wanted = sorted(set(keys))
    found: dict[str, DueFailure] = {}
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        chunk = wanted[start:start + KEYS_PER_QUERY]
        found.update((row.key, _failure(row))
                     for row in conn.execute(query.where(failure_t.c.key.in_(chunk))))
    return found


def record_failure(conn: Connection, key: str, error: str, at: datetime,
                   max_attempts: int) -> DueFailure:
    """Count one more failure of `key` in one statement (an upsert: two processes counting
    the same key at once both count, and neither trips over the other's insert)."""
    error = error[:1000]
    # The store's own dialect, loaded when first used (storage/tables.py `partial` says why).
    dialect: Any = importlib.import_module(
        "sqlalchemy.dialects." + ("postgresql" if conn.dialect.name == "postgresql" else "sqlite"))
    insert = dialect.insert(failure_t).values(
        key=key, attempts=1, last_error=error, first_failed_at=at, last_failed_at=at,
        dead_at=at if max_attempts <= 1 else None)
    attempts = failure_t.c.attempts + 1  # of the row as it was: SET sees the old values
    dead_at = sa.func.coalesce(failure_t.c.dead_at, insert.excluded.last_failed_at)
    upsert = insert.on_conflict_do_update(
        index_elements=[failure_t.c.key],
        set_={"attempts": attempts, "last_error": insert.excluded.last_error,
              "last_failed_at": insert.excluded.last_failed_at,
              "dead_at": sa.case((attempts >= max_attempts, dead_at), else_=sa.null())},
    ).returning(failure_t.c.attempts, failure_t.c.dead_at)
    row = conn.execute(upsert).one()
    return DueFailure(key, row.attempts, error, at, row.dead_at is not None)


def forget(conn: Connection, key: str) -> None:
    conn.execute(sa.delete(failure_t).where(failure_t.c.key == key))


def prune(conn: Connection, before: datetime) -> int:
    """Forget failures last seen before `before`: dead letters past their retention, and
    counts of items that stopped coming due (their work was done or went away)."""
    return int(conn.execute(
        sa.delete(failure_t).where(failure_t.c.last_failed_at < before)).rowcount)
