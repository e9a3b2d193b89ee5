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
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.model import Network, compact_json
from bot.ports import (
    CommitResult,
    ConflictError,
    OutboxItem,
    OutboxRow,
    StoreBrokenError,
    UnitOfWork,
)
from bot.records import Record
from storage.bulk import BulkSql
from storage.database import (
    Database,
    broken_store,
    describe_failure,
    sqlite_savepoint,
    store_failure,
)
from storage.records import Bulk, RecordSql
from storage.tables import InboxRow

log = logging.getLogger(__name__)

MAX_BATCH = 64
LINGER_TURNS = 1
Job = Callable[[Connection], Any]

inbox_t = InboxRow.__table__  # type: ignore[attr-defined]


@dataclass
class _Pending:
    unit: UnitOfWork | None
    job: Job | None
    future: asyncio.Future[Any]
    outcome: Any = None  # the result, or the exception to raise in the waiting handler
    outbox: list[OutboxRow] = field(default_factory=list)


class GroupWriter:
    def __init__(self, db: Database, records: RecordSql | None = None) -> None:
        self.db = db
        self.records = records or RecordSql()  # how each record type is written
        self.sql = BulkSql("sqlite" if db.is_sqlite else "postgresql")
        # Several processes may share a PostgreSQL store: a unit's state versions are checked
        # (SQLite is one process per file, whose per-person locks already serialize).
        self.check_versions = not db.is_sqlite
        self.conflicts = 0  # units turned away because a state they read had changed
        # PostgreSQL: replies are leased to this process as they are queued (bot/outbox.py).
        self.lease_owner = ""
        self.lease_seconds = 0.0
        self.lease_networks: frozenset[str] = frozenset()  # the networks this process runs
        # A plain deque and one future to wake the writer, not an asyncio.Queue: its
        # put_nowait, get_nowait and task_done are some ten Python calls for every unit (with
        # the rest of that change, 769k -> 757k instructions a message in bench.core).
        self._queue: deque[_Pending] = deque()
        self._wake: asyncio.Future[None] | None = None  # the writer waits for a unit
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        # Told once when a write shows the store unusable (full, read-only, corrupt).
        self.on_broken: Callable[[StoreBrokenError], None] | None = None
        # Told of each unit's records once its batch is written, committed or refused,
        # whether or not its caller still waits (SqlStore: Queries.written).
        self.on_written: Callable[[Sequence[Record]], None] | None = None
        self.broken: StoreBrokenError | None = None

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="group-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        task = self._task
        if task is None:
            return
        self._stopping = True  # the writer ends once nothing is queued
        self._wake_writer()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._task = None

    def commit(self, unit: UnitOfWork) -> asyncio.Future[CommitResult]:
        """The unit's result, once its batch is committed (a future: no coroutine of its own
        on every message's path)."""
        return self._submit(unit, None)

    async def run(self, job: Job) -> Any:
        """Run a write outside the message path (person creation, outbox marks) in a batch."""
        return await self._submit(None, job)

    def _submit(self, unit: UnitOfWork | None, job: Job | None) -> asyncio.Future[Any]:
        # A plain function handing back the future: one coroutine less per message.
        if self._task is None:
            raise RuntimeError("the store is not open")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(unit, job, future))
        self._wake_writer()  # if it waits, this unit starts a batch
        return future

    def _wake_writer(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def _loop(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                if self._stopping:
                    self._task = None  # from now on, submitting raises
                    return
                self._wake = asyncio.get_running_loop().create_future()
                try:
                    await self._wake
                finally:
                    self._wake = None
                continue
            batch = [queue.popleft()]
            for _ in range(LINGER_TURNS):
                # Handlers whose previous unit just committed need a loop turn or two to
                # submit their next one; waiting for them doubles the batch at 16 in flight.
                await asyncio.sleep(0)
            while len(batch) < MAX_BATCH and queue:
                batch.append(queue.popleft())
            await self._write_batch(batch)
            self._tell_written(batch)
            for item in batch:
                if item.future.done():
                    continue  # its caller was cancelled; the others still get theirs
                if isinstance(item.outcome, BaseException):
                    item.future.set_exception(item.outcome)
                else:
                    item.future.set_result(item.outcome)

    def _tell_written(self, batch: list[_Pending]) -> None:
        written = self.on_written
        if written is None:
            return
        for item in batch:
            if item.unit is not None and item.unit.records:  # most units have none
                try:
                    written(item.unit.records)
                except Exception:  # the writer goes on whatever a listener does
                    log.exception("could not take note of written records")

    async def _write_batch(self, batch: list[_Pending]) -> None:
        """Commit the batch in one transaction. If that fails for a reason of one unit's
        (a constraint, a value too long, a bug in a job), the transaction is gone: commit
        the units again one by one, so only the bad one's caller sees the error. A failure
        of the store itself (disk full, read-only, unreachable) fails them all at once."""
        try:
            await self.db.write(partial(self._write, batch=batch))
            self.batches += 1
            return
        except Exception as exc:
            if len(batch) == 1 or store_failure(exc):
                self._fail_all(batch, exc)
                return
            log.warning("write batch of %d failed (%s); writing its units one by one",
                        len(batch), describe_failure(exc))
        for n, item in enumerate(batch):
            item.outcome = None
            item.outbox.clear()
            try:
                await self.db.write(partial(self._write, batch=[item]))
                self.batches += 1
            except Exception as exc:
                if store_failure(exc):  # the store, not this unit: the rest would fail too
                    self._fail_all(batch[n:], exc)
                    return
                log.error("unit of work for %s failed: %s",
                          item.unit.person_id if item.unit else "a job", describe_failure(exc))
                item.outcome = exc

    def _fail_all(self, items: list[_Pending], exc: Exception) -> None:
        log.error("write batch of %d failed: %s", len(items), describe_failure(exc))
        for item in items:
            item.outcome = exc
        if broken_store(exc) and self.broken is None:
            self.broken = StoreBrokenError(f"the store ({self.db.where}) cannot be written: "
                                           f"{describe_failure(exc)}")
            if self.on_broken is not None:
                self.on_broken(self.broken)

    # Everything below runs synchronously inside one transaction (on the writer thread for
    # SQLite, through run_sync for PostgreSQL); outcomes are handed back on the event loop.
    def _write(self, conn: Connection, *, batch: list[_Pending]) -> None:
        now = datetime.now(UTC)
        accepted = self._record_inbox(conn, batch, now)
        if self.check_versions:
            accepted = self._check_versions(conn, accepted, now)
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
            at = self.sql.when(now)
            inserted = self.sql.insert_inbox(conn, [(n, e, at) for n, e in wanted])
            for key, item in wanted.items():
                if key in inserted:
                    accepted.append(item)
                else:
                    item.outcome = CommitResult(True)
        return accepted

    def _check_versions(self, conn: Connection, items: list[_Pending],
                        now: datetime) -> list[_Pending]:
        """Compare-and-set: lock the state rows the units read (in person order) and turn
        away each unit that read a version committed over since, before any of its writes."""
        people = [p for i in items if i.unit is not None for p in i.unit.expect]
        if not people:
            return items
        current = self.sql.lock_states(conn, people, self.sql.when(now))
        kept: list[_Pending] = []
        for item in items:
            unit = item.unit
            stale = [p for p, v in unit.expect.items() if current.get(p) != v] if unit else []
            if not stale:
                kept.append(item)
                continue
            assert unit is not None
            self.conflicts += 1
            self._unrecord(conn, unit)
            item.outcome = ConflictError(f"state of person {stale[0]} changed since it was read",
                                         shared=True, gone=any(p not in current for p in stale))
        return kept

    @staticmethod
    def _unrecord(conn: Connection, unit: UnitOfWork) -> None:
        """Let the retried handling record the event again."""
        if unit.inbox is not None:
            conn.execute(sa.delete(inbox_t).where(
                inbox_t.c.network == unit.inbox[0], inbox_t.c.event_id == unit.inbox[1]))

    def _apply_records(self, conn: Connection, item: _Pending) -> bool:
        unit = item.unit
        assert unit is not None
        if not unit.records:  # most units: no list to filter, no check of each record type
            return True
        # Some (nudges) are written with the batch's bulk statements.
        written = self.records
        records = [r for r in unit.records if type(r) not in written.bulk]
        if all(type(r) in written.safe for r in records):
            for record in records:
                written.write(conn, record)
            return True
        try:
            # In order: an EndClaim may make room for a merge.
            with sqlite_savepoint(conn) if self.db.is_sqlite else conn.begin_nested():
                for record in records:
                    written.write(conn, record)
        except IntegrityError as exc:
            self._unrecord(conn, unit)
            item.outcome = ConflictError(str(exc.orig))
            return False
        return True

    def _bulk(self, conn: Connection, items: list[_Pending], now: datetime) -> None:
        at = self.sql.when(now)
        units = [i.unit for i in items if i.unit is not None]
        states = [(u.person_id, u.state.flow, u.state.step,
                   u.state.encoded or compact_json(u.state.data), at)
                  for u in units if u.state is not None]
        if states:
            self.sql.upsert_states(conn, states)
        events = [(u.person_id, kind, compact_json(detail), at)
                  for u in units for kind, detail in u.events]
        if events:
            self.sql.insert_events(conn, events)
        bulk: dict[Bulk, list[Any]] = {}  # in the batch's order, per statement
        final: dict[Bulk, list[Any]] = {}  # after all the others (an erasure)
        for unit in units:
            for record in unit.records:
                if (write := self.records.bulk.get(type(record))) is not None:
                    into = final if type(record) in self.records.final else bulk
                    into.setdefault(write, []).append(record)
        for write, records in (*bulk.items(), *final.items()):
            write(conn, self.sql, records)
        owners: dict[str, tuple[_Pending, OutboxItem]] = {}
        rows: list[tuple[Any, ...]] = []
        for item in items:
            assert item.unit is not None
            for out in item.unit.outbox:
                owners[out.idempotency_key] = (item, out)
                rows.append((out.idempotency_key, out.network, item.unit.person_id,
                             compact_json(out.body), at))
        if rows:
            lease = ((self.lease_owner, now + timedelta(seconds=self.lease_seconds),
                      self.lease_networks) if self.lease_owner else None)
            ids = self.sql.insert_outbox(conn, rows, lease)
            for key, (item, out) in owners.items():
                item.outbox.append(OutboxRow(ids[key], key, out.network, out.body, 0, out.message))
