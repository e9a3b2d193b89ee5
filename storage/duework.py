"""Attempt counts and dead letters of due work (table due_failure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.ports import DueFailure
from storage.tables import DueFailureRow

failure_t = DueFailureRow.__table__  # type: ignore[attr-defined]


def _failure(row: Any) -> DueFailure:
    return DueFailure(row.key, row.attempts, row.last_error, row.last_failed_at,
                      row.dead_at is not None)


def failures(conn: Connection) -> dict[str, DueFailure]:
    rows = conn.execute(sa.select(failure_t).order_by(failure_t.c.last_failed_at))
    return {row.key: _failure(row) for row in rows}


def record_failure(conn: Connection, key: str, error: str, at: datetime,
                   max_attempts: int) -> DueFailure:
    row = conn.execute(sa.select(failure_t).where(failure_t.c.key == key)).first()
    attempts = (row.attempts if row is not None else 0) + 1
    error = error[:1000]
    values = {"attempts": attempts, "last_error": error, "last_failed_at": at,
              "dead_at": at if attempts >= max_attempts else None}
    if row is None:
        conn.execute(sa.insert(failure_t).values(key=key, first_failed_at=at, **values))
    else:
        conn.execute(sa.update(failure_t).where(failure_t.c.key == key).values(**values))
    return DueFailure(key, attempts, error, at, attempts >= max_attempts)


def forget(conn: Connection, key: str) -> None:
    conn.execute(sa.delete(failure_t).where(failure_t.c.key == key))
