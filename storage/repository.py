"""SqlStore: the Store port on SQLAlchemy Core (async), composed of the core's queries and
each feature's storage module (storage/<feature>.py: its tables, queries and records)."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Awaitable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.model import ExternalId, Identity, Network, PersonId
from bot.ports import (
    CommitResult,
    DueFailure,
    OutboxRow,
    PersonState,
    StoreBrokenError,
    UnitOfWork,
)
from bot.records import Audit
from storage import duework
from storage.account import RECORDS as ACCOUNT
from storage.account import AccountQueries
from storage.crm import RECORDS as CRM
from storage.crm import CrmQueries
from storage.dashboard import RECORDS as DASHBOARD
from storage.dashboard import DashboardQueries
from storage.database import Database, describe_failure, open_database, store_failure
from storage.digest import RECORDS as DIGEST
from storage.digest import DigestQueries
from storage.events import RECORDS as EVENTS
from storage.events import EventsQueries
from storage.forge import RECORDS as FORGE
from storage.forge import ForgeQueries
from storage.leader import LeaderLock, PersonLocks
from storage.levelup import RECORDS as LEVELUP
from storage.levelup import LevelupQueries
from storage.mentoring import RECORDS as MENTORING
from storage.mentoring import MentoringQueries
from storage.migrate import upgrade
from storage.pairing import RECORDS as PAIRING
from storage.pairing import PairingQueries
from storage.path import RECORDS as PATH
from storage.path import PathQueries
from storage.privacy import PrivacyQueries, erasure
from storage.queries import Queries
from storage.records import (
    CORE,
    audit_t,
    event_t,
    identity_t,
    outbox_t,
    state_t,
)
from storage.records import combine as combine_records
from storage.tables import name_postgresql_where
from storage.tracker import RECORDS as TRACKER
from storage.tracker import TrackerQueries
from storage.writer import GroupWriter

# Every storage module: its queries are the store's bases, its records' writers combined;
# erasing a person goes over every module's person data.
MODULES = (CORE, ACCOUNT, EVENTS, FORGE, MENTORING, PATH, TRACKER, CRM, DASHBOARD, PAIRING,
           LEVELUP, DIGEST)
RECORDS = combine_records(*MODULES, erasure(combine_records(*MODULES)))

FRESH_LIMIT = 10_000  # people just created, whose state need not be read (a bound)


def _outbox(row: Any) -> OutboxRow:
    return OutboxRow(row.id, row.idempotency_key, Network(row.network), row.body, row.attempts,
                     last_error=row.last_error, status=row.status, parts_sent=row.parts_sent)


LEASE_SECONDS = 30.0  # an outbox row's lease (renewed every third of it while running)


def lease_owner() -> str:
    """This process, as outbox leases and the leader lock name it."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _body(value: Any) -> dict[str, Any]:
    body = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(body or {})


class SqlStore(AccountQueries, EventsQueries, ForgeQueries, MentoringQueries, PathQueries,
               TrackerQueries, PrivacyQueries, CrmQueries, DashboardQueries, PairingQueries,
               LevelupQueries, DigestQueries, Queries):
    """Open with `async with SqlStore.open(url)`; migrations run on open unless told not to."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.writer = GroupWriter(db, RECORDS)
        # Once a unit's batch is written (committed or refused, its caller waiting or gone):
        # what the storage modules keep of such records may be stale (Queries.written).
        self.writer.on_written = self.written
        self._fresh: set[PersonId] = set()
        self.leader = LeaderLock(db)  # who runs the scans (one process among several)
        self._people = PersonLocks(db)
        if not db.is_sqlite:  # several processes may send from one outbox: rows are leased
            self.writer.lease_owner = lease_owner()
            self.writer.lease_seconds = LEASE_SECONDS

    @classmethod
    def open(cls, url: str, durable: bool = True) -> SqlStore:
        db = open_database(url, durable)
        if not db.is_sqlite:
            name_postgresql_where()  # the tables as PostgreSQL has them (storage/tables.py)
        return cls(db)

    async def __aenter__(self) -> SqlStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self, migrate: bool = True) -> None:
        """Open, migrate and prove the store can be written; a store that cannot (corrupt,
        read-only, full, unreachable) raises StoreBrokenError naming the file and the problem."""
        try:
            if migrate:
                await self.migrate()
            await self._checked(self.db.write(_probe), "written")
        except StoreBrokenError:
            await self.db.dispose()
            raise
        self.writer.start()

    async def migrate(self) -> None:
        """Bring the schema up to date (StoreBrokenError if the store cannot be opened)."""
        await self._checked(upgrade(self.db), "opened")

    async def _checked(self, work: Awaitable[object], what: str) -> None:
        try:
            await work
        except Exception as exc:
            if not store_failure(exc):
                raise
            raise StoreBrokenError(f"the store ({self.db.where}) cannot be {what}: "
                                   f"{describe_failure(exc)}") from exc

    def exclusive(self, person_id: PersonId) -> AbstractAsyncContextManager[None]:
        return self._people.hold(person_id)

    async def close(self) -> None:
        await self.leader.release()
        await self._people.close()
        await self.writer.stop()
        await self.db.dispose()

    # -- the core's writes ------------------------------------------------------------------
    async def commit(self, unit: UnitOfWork) -> CommitResult:
        self._fresh.discard(unit.person_id)  # from now on there may be a state to read
        return await self.writer.commit(unit)

    async def person_for(self, identity: Identity) -> PersonId:
        person = await self.person_for_event(identity, None)
        assert person is not None
        return person

    async def person_for_event(self, identity: Identity,
                               event: tuple[Network, str] | None) -> PersonId | None:
        # The engine caches the answer, so this runs once per identity and process: straight
        # to the writer, which looks up and creates in one step.
        sql = self.writer.sql
        at = sql.when(datetime.now(UTC))

        def create(conn: Connection) -> PersonId | None:
            person, created = sql.ensure_person(conn, identity.network, identity.external_id,
                                                identity.verified, at, event)
            if created:
                if len(self._fresh) >= FRESH_LIMIT:  # people created but never seen again
                    self._fresh.clear()
                self._fresh.add(PersonId(person))
            return PersonId(person) if person else None

        person: PersonId | None = await self.writer.run(create)
        return person

    async def _update_outbox(self, outbox_ids: list[int], **values: Any) -> None:
        values["updated_at"] = datetime.now(UTC)

        def job(conn: Connection) -> None:
            conn.execute(sa.update(outbox_t).where(outbox_t.c.id.in_(outbox_ids)).values(
                **values))

        await self.writer.run(job)

    async def mark_sent(self, outbox_ids: list[int]) -> None:
        sql = self.writer.sql
        at = sql.when(datetime.now(UTC))
        await self.writer.run(lambda conn: sql.mark_outbox(conn, outbox_ids, "sent", at))

    async def mark_retry(self, outbox_id: int, error: str) -> None:
        await self._update_outbox([outbox_id], attempts=outbox_t.c.attempts + 1,
                                  last_error=error[:1000])

    async def mark_unknown(self, outbox_id: int, error: str) -> None:
        await self._update_outbox([outbox_id], status="unknown",
                                  attempts=outbox_t.c.attempts + 1, last_error=error[:1000])

    async def mark_parts(self, outbox_id: int, parts_sent: int) -> None:
        await self._update_outbox([outbox_id], parts_sent=parts_sent)

    async def mark_dead(self, outbox_id: int, error: str) -> None:
        await self._update_outbox([outbox_id], status="dead", attempts=outbox_t.c.attempts + 1,
                                  last_error=error[:1000])

    # -- reads ----------------------------------------------------------------------------
    async def load_state(self, person_id: PersonId) -> PersonState | None:
        if person_id in self._fresh:  # created moments ago: nothing to read yet
            self._fresh.discard(person_id)
            return None
        row = await self._one(sa.select(state_t).where(state_t.c.person_id == person_id))
        if row is None:
            return None
        return PersonState(person_id, row.flow, row.step, dict(row.data), version=row.version)

    async def identities(self, person_id: PersonId) -> list[Identity]:
        rows = await self._all(sa.select(identity_t).where(identity_t.c.person_id == person_id)
                               .order_by(identity_t.c.created_at))
        return [Identity(Network(r.network), ExternalId(r.external_id), r.verified) for r in rows]

    async def events_since(self, person_id: PersonId, kind: str, since: datetime) -> int:
        stmt = sa.select(sa.func.count()).select_from(event_t).where(
            event_t.c.person_id == person_id, event_t.c.kind == kind, event_t.c.at >= since)
        return int((await self._one(stmt))[0])

    async def pending_outbox(self) -> list[OutboxRow]:
        rows = await self._all(sa.select(outbox_t).where(outbox_t.c.status == "pending")
                               .order_by(outbox_t.c.id))
        return [_outbox(r) for r in rows]

    async def dead_letters(self) -> list[OutboxRow]:
        rows = await self._all(sa.select(outbox_t).where(
            outbox_t.c.status.in_(("dead", "unknown"))).order_by(outbox_t.c.id))
        return [_outbox(r) for r in rows]

    async def outbox_counts(self) -> dict[str, int]:
        rows = await self._all(sa.select(outbox_t.c.status, sa.func.count())
                               .group_by(outbox_t.c.status))
        return {r[0]: int(r[1]) for r in rows}

    async def outbox_by_network(self) -> dict[tuple[str, str], int]:
        """Outbox rows per (network, status): what /metrics reports as depth and dead."""
        rows = await self._all(sa.select(outbox_t.c.network, outbox_t.c.status,
                                         sa.func.count())
                               .group_by(outbox_t.c.network, outbox_t.c.status))
        return {(r[0], r[1]): int(r[2]) for r in rows}

    async def ping(self) -> None:
        """One trivial read: whether the store answers at all (/healthz)."""
        await self._one(sa.select(sa.literal(1)))

    async def message_counts(self) -> dict[PersonId, int]:
        """Per person, the messages their state has counted (the benchmark's lost-update check)."""
        rows = await self._all(sa.select(state_t.c.person_id, state_t.c.data))
        return {PersonId(r.person_id): int(r.data.get("messages", 0)) for r in rows}

    async def latest_audit_id(self, action: str) -> int:
        """The id of the newest audit row of `action`, 0 for none (running processes poll
        it for `wayfinder content reload` requests)."""
        row = await self._one(sa.select(sa.func.max(audit_t.c.id)).where(
            audit_t.c.action == action))
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def audit_entries(self, who: str = "", action: str = "",
                            since: datetime | None = None, limit: int = 50) -> list[Audit]:
        """The newest `limit` audit rows (oldest first) whose identity contains `who`, whose
        action is `action` (or starts with it and a colon: "refused" gives every refusal)
        and that happened at or after `since`."""
        query = sa.select(audit_t).order_by(audit_t.c.id.desc()).limit(limit)
        if who:
            escaped = who.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(audit_t.c.identity.like(f"%{escaped}%", escape="\\"))
        if action:
            query = query.where(sa.or_(audit_t.c.action == action,
                                       audit_t.c.action.startswith(f"{action}:", autoescape=True)))
        if since is not None:
            query = query.where(audit_t.c.at >= since)
        rows = await self._all(query)
        return [Audit(r.identity, r.action, r.detail, r.at) for r in reversed(rows)]

    @property
    def lease_seconds(self) -> float:
        """How long an outbox row stays this process's without renewal (0: no leases)."""
        return self.writer.lease_seconds if self.writer.lease_owner else 0.0

    async def pending_page(self, after: int, limit: int, networks: Sequence[str],
                           replies_upto: int) -> list[OutboxRow]:
        if self.writer.lease_owner:
            return await self._claim_page(after, limit, networks)
        rows = await self._all(
            sa.select(outbox_t).where(outbox_t.c.status.in_(("pending", "sending")),
                                      outbox_t.c.id > after,
                                      outbox_t.c.network.in_(list(networks)),
                                      sa.or_(outbox_t.c.broadcast_id.is_not(None),
                                             outbox_t.c.id <= replies_upto))
            .order_by(outbox_t.c.id).limit(limit))
        return [_outbox(r) for r in rows]

    async def outbox_present(self, ids: Sequence[int]) -> set[int]:
        rows = await self._all(sa.select(outbox_t.c.id).where(outbox_t.c.id.in_(list(ids))))
        return {int(r.id) for r in rows}

    async def _claim_page(self, after: int, limit: int,
                          networks: Sequence[str]) -> list[OutboxRow]:
        """PostgreSQL: lease the next unsent rows no live process holds (none leased yet, or
        whose lease ran out: their process died), skipping rows another is claiming now."""
        owner, seconds = self.writer.lease_owner, self.writer.lease_seconds

        def job(conn: Connection) -> list[OutboxRow]:
            now = datetime.now(UTC)
            rows = conn.exec_driver_sql(
                "WITH c AS (SELECT id FROM outbox WHERE status IN ('pending', 'sending') "
                "AND id > $1 AND network = ANY($2::text[]) AND (lease_until IS NULL OR "
                "lease_until < $3) ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED) "
                "UPDATE outbox o SET lease_owner = $5, lease_until = $6 FROM c "
                "WHERE o.id = c.id RETURNING o.id, o.idempotency_key, o.network, o.body, "
                "o.attempts, o.last_error, o.status, o.parts_sent",
                (after, list(networks), now, limit, owner, now + timedelta(seconds=seconds)))
            return sorted((OutboxRow(r[0], r[1], Network(r[2]), _body(r[3]), r[4],
                                     last_error=r[5], status=r[6], parts_sent=r[7])
                           for r in rows), key=lambda r: r.id)

        claimed: list[OutboxRow] = await self.writer.run(job)
        return claimed

    async def renew_leases(self) -> None:
        """Keep this process's unsent rows its own a lease longer (while it runs)."""
        if not self.writer.lease_owner:
            return
        owner, until = self.writer.lease_owner, datetime.now(UTC) + timedelta(
            seconds=self.writer.lease_seconds)
        await self.writer.run(lambda conn: conn.execute(sa.update(outbox_t).where(
            outbox_t.c.lease_owner == owner, outbox_t.c.status.in_(("pending", "sending")))
            .values(lease_until=until)))

    async def release_leases(self) -> None:
        """At a clean stop: what this process did not send is any process's to take now."""
        if not self.writer.lease_owner:
            return
        owner = self.writer.lease_owner
        await self.writer.run(lambda conn: conn.execute(sa.update(outbox_t).where(
            outbox_t.c.lease_owner == owner, outbox_t.c.status.in_(("pending", "sending")))
            .values(lease_until=None)))

    async def max_outbox_id(self) -> int:
        row = await self._one(sa.select(sa.func.max(outbox_t.c.id)))
        return int(row[0] or 0)

    async def mark_sending(self, rows: Sequence[OutboxRow]) -> None:
        fresh = [r.id for r in rows if r.status != "sending"]
        again = [r.id for r in rows if r.status == "sending"]

        def job(conn: Connection) -> None:
            if fresh:
                conn.execute(sa.update(outbox_t).where(outbox_t.c.id.in_(fresh))
                             .values(status="sending"))
            if again:
                conn.execute(sa.update(outbox_t).where(outbox_t.c.id.in_(again)).values(
                    resent=outbox_t.c.resent + 1,
                    last_error="handed to the network again after a restart"))

        if fresh or again:
            await self.writer.run(job)

    async def defer(self, outbox_id: int, until: datetime) -> None:
        await self._update_outbox([outbox_id], status="deferred", not_before=until)

    async def release_deferred(self, now: datetime) -> int:
        def job(conn: Connection) -> int:
            return int(conn.execute(sa.update(outbox_t).where(
                outbox_t.c.status == "deferred", outbox_t.c.not_before <= now).values(
                status="pending")).rowcount)

        released: int = await self.writer.run(job)
        return released

    # -- due work that failed (storage/duework.py) ----------------------------------------
    async def due_failures(self, keys: Collection[str] | None = None,
                           dead_only: bool = False) -> dict[str, DueFailure]:
        return await self.db.read(lambda conn: duework.failures(conn, keys, dead_only))

    async def due_failed(self, key: str, error: str, at: datetime,
                         max_attempts: int) -> DueFailure:
        failure: DueFailure = await self.writer.run(
            lambda conn: duework.record_failure(conn, key, error, at, max_attempts))
        return failure

    async def due_done(self, key: str) -> None:
        await self.writer.run(lambda conn: duework.forget(conn, key))

    async def due_prune(self, before: datetime) -> int:
        pruned: int = await self.writer.run(lambda conn: duework.prune(conn, before))
        return pruned

    def is_store_failure(self, exc: BaseException) -> bool:
        return isinstance(exc, StoreBrokenError) or store_failure(exc)


def _probe(conn: Connection) -> None:
    # A write that changes nothing, but which SQLite and PostgreSQL still have to write.
    conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
