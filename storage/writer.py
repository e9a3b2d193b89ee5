"""Group commit: one writer task takes queued units of work and commits them together.

Durable throughput on SQLite is bounded by one fsync per transaction, so concurrent handlers'
units are batched: insert-or-ignore the inbox rows, apply each unit's records in a savepoint
(a uniqueness conflict fails only that unit), then upsert states and insert events and outbox
rows with one executemany each. Every handler awaits its own unit's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.model import Network
from bot.ports import CommitResult, ConflictError, OutboxRow, UnitOfWork
from storage.database import Database
from storage.records import apply_record
from storage.tables import FlowState, InboxRow, OutboxRowTable, ProgressEvent

log = logging.getLogger(__name__)

MAX_BATCH = 64
Job = Callable[[Connection], Any]

inbox_t = InboxRow.__table__  # type: ignore[attr-defined]
state_t = FlowState.__table__  # type: ignore[attr-defined]
event_t = ProgressEvent.__table__  # type: ignore[attr-defined]
outbox_t = OutboxRowTable.__table__  # type: ignore[attr-defined]


@dataclass
class _Pending:
    unit: UnitOfWork | None
    job: Job | None
    future: asyncio.Future[Any]
    outcome: Any = None  # the result, or the exception to raise in the waiting handler
    outbox: list[OutboxRow] = field(default_factory=list)


class GroupWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect_insert = sqlite.insert if db.is_sqlite else postgresql.insert
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="group-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def commit(self, unit: UnitOfWork) -> CommitResult:
        result: CommitResult = await self._submit(unit, None)
        return result

    async def run(self, job: Job) -> Any:
        """Run a write outside the message path (person creation, outbox marks) in a batch."""
        return await self._submit(None, job)

    async def _submit(self, unit: UnitOfWork | None, job: Job | None) -> Any:
        if self._task is None:
            raise RuntimeError("the store is not open")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(unit, job, future))
        return await future

    async def _loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.db.write(lambda conn, b=batch: self._write(conn, b))  # type: ignore[misc]
                self.batches += 1
                for item in batch:
                    if isinstance(item.outcome, BaseException):
                        item.future.set_exception(item.outcome)
                    else:
                        item.future.set_result(item.outcome)
            except Exception as exc:
                log.exception("write batch of %d failed", len(batch))
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
            finally:
                for _ in batch:
                    self._queue.task_done()

    # Everything below runs synchronously inside one transaction (on the writer thread for
    # SQLite, through run_sync for PostgreSQL); outcomes are handed back on the event loop.
    def _write(self, conn: Connection, batch: list[_Pending]) -> None:
        now = datetime.now(UTC)
        accepted = self._record_inbox(conn, batch, now)
        units: list[_Pending] = []
        for item in accepted:
            if item.job is not None:
                item.outcome = item.job(conn)
            elif self._apply_records(conn, item):
                units.append(item)
        self._bulk(conn, units, now)
        for item in units:
            item.outcome = CommitResult(False, tuple(item.outbox))

    def _record_inbox(self, conn: Connection, batch: list[_Pending],
                      now: datetime) -> list[_Pending]:
        wanted: dict[tuple[Network, str], _Pending] = {}
        accepted: list[_Pending] = []
        for item in batch:
            key = item.unit.inbox if item.unit is not None else None
            if key is None:
                accepted.append(item)
            elif key in wanted:  # the same event twice in one batch: the first one wins
                item.outcome = CommitResult(True)
            else:
                wanted[key] = item
        if wanted:
            stmt = self.dialect_insert(inbox_t).on_conflict_do_nothing().returning(
                inbox_t.c.network, inbox_t.c.event_id)
            rows = conn.execute(stmt, [
                {"network": n, "event_id": e, "received_at": now} for n, e in wanted])
            inserted = {(r.network, r.event_id) for r in rows}
            for key, item in wanted.items():
                if key in inserted:
                    accepted.append(item)
                else:
                    item.outcome = CommitResult(True)
        return accepted

    def _apply_records(self, conn: Connection, item: _Pending) -> bool:
        unit = item.unit
        assert unit is not None
        if not unit.records:
            return True
        try:
            with conn.begin_nested():
                for record in unit.records:
                    apply_record(conn, record)
        except IntegrityError as exc:
            if unit.inbox is not None:  # let the retried handling record the event again
                conn.execute(sa.delete(inbox_t).where(
                    inbox_t.c.network == unit.inbox[0], inbox_t.c.event_id == unit.inbox[1]))
            item.outcome = ConflictError(str(exc.orig))
            return False
        return True

    def _bulk(self, conn: Connection, items: list[_Pending], now: datetime) -> None:
        units = [i.unit for i in items if i.unit is not None]
        states = [{"person_id": u.person_id, "flow": u.state.flow, "step": u.state.step,
                   "data": u.state.data, "updated_at": now}
                  for u in units if u.state is not None]
        if states:
            stmt = self.dialect_insert(state_t)
            stmt = stmt.on_conflict_do_update(index_elements=[state_t.c.person_id], set_={
                "flow": stmt.excluded.flow, "step": stmt.excluded.step,
                "data": stmt.excluded.data, "updated_at": stmt.excluded.updated_at})
            conn.execute(stmt, states)
        events = [{"person_id": u.person_id, "kind": kind, "detail": detail, "at": now}
                  for u in units for kind, detail in u.events]
        if events:
            conn.execute(sa.insert(event_t), events)
        owners: dict[str, _Pending] = {}
        rows: list[dict[str, Any]] = []
        for item in items:
            assert item.unit is not None
            for out in item.unit.outbox:
                owners[out.idempotency_key] = item
                rows.append({"idempotency_key": out.idempotency_key, "network": out.network,
                             "person_id": item.unit.person_id, "body": out.body,
                             "status": "pending", "attempts": 0, "last_error": "",
                             "created_at": now, "updated_at": now})
        if rows:
            # Matched back by the unique key: asking for parameter order makes SQLite insert
            # one row per statement.
            insert_rows = sa.insert(outbox_t).returning(outbox_t.c.id, outbox_t.c.idempotency_key)
            ids = {r.idempotency_key: r.id for r in conn.execute(insert_rows, rows)}
            for values in rows:
                key = values["idempotency_key"]
                owners[key].outbox.append(OutboxRow(
                    ids[key], key, Network(values["network"]), values["body"], 0))
