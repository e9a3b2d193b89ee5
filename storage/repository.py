"""SqlStore: the Store port on SQLAlchemy Core (async). The only place with queries."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.codes import normalise_code
from bot.model import ExternalId, Identity, Network, PersonId, outbound_to_json
from bot.ports import (
    Audience,
    CommitResult,
    Compose,
    DeliveryCounts,
    DueFailure,
    OutboxRow,
    PersonState,
    Recipient,
    StoreBrokenError,
    UnitOfWork,
)
from bot.records import (
    Broadcast,
    Case,
    Certificate,
    Event,
    LinkCode,
    MentorState,
    Nudge,
    TaskClaim,
)
from storage import duework
from storage.database import Database, describe_failure, open_database, store_failure
from storage.migrate import upgrade
from storage.records import (
    assignment_t,
    audit_t,
    broadcast_t,
    case_t,
    cert_t,
    claim_t,
    event_t,
    identity_t,
    link_t,
    mentor_state_t,
    outbox_t,
    program_event_t,
    rsvp_t,
    state_t,
)
from storage.tables import NudgeRow
from storage.writer import GroupWriter

_active = claim_t.c.ended_at.is_(None)


def _claim(row: Any) -> TaskClaim:
    return TaskClaim(row.task_id, row.project_id, PersonId(row.person_id), row.claimed_at,
                     row.last_activity_at)


def _certificate(row: Any) -> Certificate:
    return Certificate(row.code, PersonId(row.person_id), row.holder, row.workshop_id,
                       row.workshop_title, row.issued_at)


def _case(row: Any) -> Case:
    return Case(row.code, PersonId(row.person_id), row.newcomer, row.project_id, row.subject,
                row.reason, row.source, row.status, row.level, row.mentor_key, row.claimed_by,
                tuple(row.tried), row.created_at, row.claimed_at, row.resolved_at,
                row.escalate_at)


_ACTIVE_CASE = case_t.c.status.in_(("open", "claimed"))
nudge_t = NudgeRow.__table__  # type: ignore[attr-defined]


def _outbox(row: Any) -> OutboxRow:
    return OutboxRow(row.id, row.idempotency_key, Network(row.network), row.body, row.attempts,
                     last_error=row.last_error, status=row.status)


class SqlStore:
    """Open with `async with SqlStore.open(url)`; migrations run on open unless told not to."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.writer = GroupWriter(db)
        self._fresh: set[PersonId] = set()

    @classmethod
    def open(cls, url: str, durable: bool = True) -> SqlStore:
        return cls(open_database(url, durable))

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

    async def close(self) -> None:
        await self.writer.stop()
        await self.db.dispose()

    async def _all(self, stmt: sa.Executable) -> list[Any]:
        return await self.db.read(lambda conn: list(conn.execute(stmt)))

    async def _one(self, stmt: sa.Executable) -> Any:
        rows = await self._all(stmt)
        return rows[0] if rows else None

    # -- the core's writes ------------------------------------------------------------------
    async def commit(self, unit: UnitOfWork) -> CommitResult:
        self._fresh.discard(unit.person_id)  # from now on there may be a state to read
        return await self.writer.commit(unit)

    async def person_for(self, identity: Identity) -> PersonId:
        # The engine caches the answer, so this runs once per identity and process: straight
        # to the writer, which looks up and creates in one step.
        sql = self.writer.sql
        at = sql.when(datetime.now(UTC))

        def create(conn: Connection) -> PersonId:
            person, created = sql.ensure_person(conn, identity.network, identity.external_id,
                                                identity.verified, at)
            if created:
                self._fresh.add(PersonId(person))
            return PersonId(person)

        person: PersonId = await self.writer.run(create)
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
        return PersonState(person_id, row.flow, row.step, dict(row.data))

    async def identities(self, person_id: PersonId) -> list[Identity]:
        rows = await self._all(sa.select(identity_t).where(identity_t.c.person_id == person_id)
                               .order_by(identity_t.c.created_at))
        return [Identity(Network(r.network), ExternalId(r.external_id), r.verified) for r in rows]

    async def active_claim(self, person_id: PersonId) -> TaskClaim | None:
        row = await self._one(sa.select(claim_t).where(claim_t.c.person_id == person_id, _active))
        return None if row is None else _claim(row)

    async def claimed_task_ids(self) -> set[str]:
        return {r.task_id for r in await self._all(sa.select(claim_t.c.task_id).where(_active))}

    async def finished_task_ids(self, person_id: PersonId) -> set[str]:
        rows = await self._all(sa.select(claim_t.c.task_id).where(
            claim_t.c.person_id == person_id, claim_t.c.outcome == "done"))
        return {r.task_id for r in rows}

    async def idle_claims(self, before: datetime) -> list[TaskClaim]:
        rows = await self._all(sa.select(claim_t).where(
            _active, claim_t.c.last_activity_at < before)
            .order_by(claim_t.c.last_activity_at).limit(500))
        return [_claim(r) for r in rows]

    async def link_code(self, code: str) -> LinkCode | None:
        row = await self._one(sa.select(link_t).where(link_t.c.code == code))
        if row is None:
            return None
        return LinkCode(row.code, PersonId(row.person_id), row.created_at, row.expires_at,
                        row.used_at is not None)

    async def link_codes_since(self, person_id: PersonId, since: datetime) -> int:
        stmt = sa.select(sa.func.count()).select_from(link_t).where(
            link_t.c.person_id == person_id, link_t.c.created_at >= since)
        return int((await self._one(stmt))[0])

    async def events_since(self, person_id: PersonId, kind: str, since: datetime) -> int:
        stmt = sa.select(sa.func.count()).select_from(event_t).where(
            event_t.c.person_id == person_id, event_t.c.kind == kind, event_t.c.at >= since)
        return int((await self._one(stmt))[0])

    async def certificate(self, code: str) -> Certificate | None:
        row = await self._one(sa.select(cert_t).where(cert_t.c.code == normalise_code(code)))
        return None if row is None else _certificate(row)

    async def certificates_of(self, person_id: PersonId) -> list[Certificate]:
        rows = await self._all(sa.select(cert_t).where(cert_t.c.person_id == person_id)
                               .order_by(cert_t.c.issued_at))
        return [_certificate(r) for r in rows]

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

    async def message_counts(self) -> dict[PersonId, int]:
        """Per person, the messages their state has counted (the benchmark's lost-update check)."""
        rows = await self._all(sa.select(state_t.c.person_id, state_t.c.data))
        return {PersonId(r.person_id): int(r.data.get("messages", 0)) for r in rows}

    # -- mentoring ------------------------------------------------------------------------
    async def case(self, code: str) -> Case | None:
        row = await self._one(sa.select(case_t).where(case_t.c.code == code.strip().upper()))
        return None if row is None else _case(row)

    async def open_case_of(self, person_id: PersonId) -> Case | None:
        row = await self._one(sa.select(case_t).where(case_t.c.person_id == person_id,
                                                       _ACTIVE_CASE))
        return None if row is None else _case(row)

    async def cases_of_mentor(self, mentor_key: str) -> list[Case]:
        """Cases a mentor holds, or was pinged for and nobody has claimed yet."""
        rows = await self._all(sa.select(case_t).where(_ACTIVE_CASE, sa.or_(
            case_t.c.claimed_by == mentor_key,
            sa.and_(case_t.c.status == "open", case_t.c.mentor_key == mentor_key),
        )).order_by(case_t.c.created_at))
        return [_case(r) for r in rows]

    async def mentor_loads(self) -> dict[str, int]:
        """Open mentees per mentor: cases claimed by them, or pinged to them and unclaimed."""
        holder = sa.case((case_t.c.status == "claimed", case_t.c.claimed_by),
                         else_=case_t.c.mentor_key)
        rows = await self._all(sa.select(holder, sa.func.count()).where(_ACTIVE_CASE)
                               .group_by(holder))
        return {r[0]: int(r[1]) for r in rows if r[0]}

    async def mentor_states(self) -> dict[str, MentorState]:
        rows = await self._all(sa.select(mentor_state_t))
        return {r.mentor_key: MentorState(r.away_until, r.last_assigned_at) for r in rows}

    async def mentor_assignments(self) -> list[tuple[str, str]]:
        rows = await self._all(sa.select(assignment_t).order_by(assignment_t.c.project_id))
        return [(r.project_id, r.identity_key) for r in rows]

    async def due_escalations(self, now: datetime) -> list[Case]:
        rows = await self._all(sa.select(case_t).where(
            case_t.c.escalate_at.is_not(None), case_t.c.escalate_at <= now,
            case_t.c.status == "open").order_by(case_t.c.escalate_at).limit(500))
        return [_case(r) for r in rows]

    async def due_nudges(self, now: datetime, limit: int = 500) -> list[Nudge]:
        rows = await self._all(sa.select(nudge_t).where(
            nudge_t.c.due_at.is_not(None), nudge_t.c.due_at <= now)
            .order_by(nudge_t.c.due_at).limit(limit))
        return [Nudge(PersonId(r.person_id), r.subject, r.project_id, r.due_at) for r in rows]

    async def latest_audit_id(self, action: str) -> int:
        """The id of the newest audit row of `action`, 0 for none (running processes poll
        it for `wayfinder content reload` requests)."""
        row = await self._one(sa.select(sa.func.max(audit_t.c.id)).where(
            audit_t.c.action == action))
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def all_cases(self) -> list[Case]:
        return [_case(r) for r in await self._all(sa.select(case_t).order_by(case_t.c.created_at))]

    # -- events and broadcasts --------------------------------------------------------------
    async def event(self, event_id: str) -> Event | None:
        row = await self._one(sa.select(program_event_t).where(program_event_t.c.id == event_id))
        return None if row is None else _event(row)

    async def events(self) -> list[Event]:
        rows = await self._all(sa.select(program_event_t).order_by(program_event_t.c.starts_at))
        return [_event(r) for r in rows]

    async def audience_counts(self, audience: Audience) -> list[tuple[str, str, int]]:
        people = sa.func.count(sa.distinct(state_t.c.person_id))
        rows = await self._all(sa.select(identity_t.c.network, state_t.c.region, people)
                               .select_from(_reachable()).where(*_audience(audience))
                               .group_by(identity_t.c.network, state_t.c.region)
                               .order_by(identity_t.c.network, state_t.c.region))
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def rsvp_of(self, event_id: str, person_id: PersonId) -> str | None:
        row = await self._one(sa.select(rsvp_t.c.answer).where(
            rsvp_t.c.event_id == event_id, rsvp_t.c.person_id == person_id))
        return None if row is None else str(row.answer)

    async def rsvp_counts(self, event_id: str) -> list[tuple[str, str, int]]:
        region = sa.func.coalesce(state_t.c.region, "")
        rows = await self._all(
            sa.select(region, rsvp_t.c.answer, sa.func.count())
            .select_from(rsvp_t.outerjoin(state_t, state_t.c.person_id == rsvp_t.c.person_id))
            .where(rsvp_t.c.event_id == event_id)
            .group_by(region, rsvp_t.c.answer).order_by(region, rsvp_t.c.answer))
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def rsvp_list(self, event_id: str) -> list[tuple[PersonId, str, str, int, str]]:
        rows = await self._all(
            sa.select(rsvp_t.c.person_id, rsvp_t.c.answer, state_t.c.region, state_t.c.milestone)
            .select_from(rsvp_t.outerjoin(state_t, state_t.c.person_id == rsvp_t.c.person_id))
            .where(rsvp_t.c.event_id == event_id).order_by(rsvp_t.c.person_id))
        names: dict[int, list[str]] = {}
        people = [r.person_id for r in rows]
        for start in range(0, len(people), 500):
            for ident in await self._all(sa.select(identity_t).where(
                    identity_t.c.person_id.in_(people[start:start + 500]))
                    .order_by(identity_t.c.network, identity_t.c.external_id)):
                names.setdefault(ident.person_id, []).append(
                    f"{ident.network}:{ident.external_id}")
        return [(PersonId(r.person_id), r.answer, r.region or "", int(r.milestone or 0),
                 " ".join(names.get(r.person_id, []))) for r in rows]

    async def broadcasts_of(self, event_id: str) -> list[Broadcast]:
        rows = await self._all(sa.select(broadcast_t).where(broadcast_t.c.event_id == event_id)
                               .order_by(broadcast_t.c.id))
        return [_broadcast(r) for r in rows]

    async def delivery_counts(self, broadcast_id: int) -> DeliveryCounts:
        mine = outbox_t.c.broadcast_id == broadcast_id
        by_status = await self._all(sa.select(outbox_t.c.status, sa.func.count())
                                    .where(mine).group_by(outbox_t.c.status))
        resent = await self._all(sa.select(outbox_t.c.network, sa.func.count())
                                 .where(mine, outbox_t.c.resent > 0)
                                 .group_by(outbox_t.c.network))
        failures = await self._all(sa.select(outbox_t.c.last_error, sa.func.count())
                                   .where(mine, outbox_t.c.status == "dead")
                                   .group_by(outbox_t.c.last_error)
                                   .order_by(sa.func.count().desc()).limit(10))
        return DeliveryCounts({r[0]: int(r[1]) for r in by_status},
                              {r[0]: int(r[1]) for r in resent},
                              tuple((r[0], int(r[1])) for r in failures))

    async def due_broadcasts(self, now: datetime) -> list[Broadcast]:
        rows = await self._all(sa.select(broadcast_t).where(sa.or_(
            broadcast_t.c.status == "sending",
            sa.and_(broadcast_t.c.status == "scheduled", broadcast_t.c.send_at <= now),
        )).order_by(broadcast_t.c.send_at, broadcast_t.c.id))
        return [_broadcast(r) for r in rows]

    async def fan_out(self, broadcast: Broadcast, audience: Audience, compose: Compose,
                      limit: int) -> int:
        sql = self.writer.sql
        query = (sa.select(state_t.c.person_id, state_t.c.region, state_t.c.timezone,
                           identity_t.c.network, identity_t.c.external_id,
                           identity_t.c.verified)
                 .select_from(_reachable()).where(*_audience(audience))
                 # person id alone: ordering by the external id too makes SQLite walk the
                 # (network, external_id) key and scan a whole network per person.
                 .order_by(state_t.c.person_id))
        this = broadcast_t.c.id == broadcast.id

        def job(conn: Connection) -> int:
            cursor = conn.execute(sa.select(broadcast_t.c.cursor, broadcast_t.c.status)
                                  .where(this)).one()
            if cursor.status not in ("scheduled", "sending"):
                return 0  # cancelled meanwhile, or finished by an earlier run
            now = datetime.now(UTC)
            at = sql.when(now)
            recipients = conn.execute(query.where(state_t.c.person_id > cursor.cursor)
                                      .limit(limit)).all()
            if not recipients:
                conn.execute(sa.update(broadcast_t).where(this).values(
                    status="done", finished_at=now))
                sql.analyze_outbox(conn)
                return 0
            rows: list[tuple[Any, ...]] = []
            seen: set[int] = set()
            for r in recipients:
                if r.person_id in seen:  # two accounts on one network: one message
                    continue
                seen.add(r.person_id)
                person = PersonId(r.person_id)
                identity = Identity(Network(r.network), ExternalId(r.external_id), r.verified)
                message, not_before, quiet_tz = compose(
                    Recipient(person, identity, r.region, r.timezone))
                body = outbound_to_json(message)
                if quiet_tz:
                    body["quiet_tz"] = quiet_tz
                rows.append((broadcast_key(broadcast, person), r.network, person, sql.json(body),
                             "deferred" if not_before else "pending",
                             sql.when(not_before) if not_before else None, at, broadcast.id))
            sql.insert_broadcast_outbox(conn, rows)
            if not cursor.cursor:
                sql.analyze_outbox(conn)
            conn.execute(sa.update(broadcast_t).where(this).values(
                status="sending", cursor=recipients[-1].person_id,
                recipients=broadcast_t.c.recipients + len(rows)))
            return len(rows)

        done: int = await self.writer.run(job)
        return done

    async def close_broadcast(self, broadcast_id: int, status: str) -> None:
        def job(conn: Connection) -> None:
            conn.execute(sa.update(broadcast_t).where(broadcast_t.c.id == broadcast_id).values(
                status=status, finished_at=datetime.now(UTC)))

        await self.writer.run(job)

    async def pending_page(self, after: int, limit: int, networks: Sequence[str],
                           replies_upto: int) -> list[OutboxRow]:
        rows = await self._all(
            sa.select(outbox_t).where(outbox_t.c.status.in_(("pending", "sending")),
                                      outbox_t.c.id > after,
                                      outbox_t.c.network.in_(list(networks)),
                                      sa.or_(outbox_t.c.broadcast_id.is_not(None),
                                             outbox_t.c.id <= replies_upto))
            .order_by(outbox_t.c.id).limit(limit))
        return [_outbox(r) for r in rows]

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
    async def due_failures(self) -> dict[str, DueFailure]:
        return await self.db.read(duework.failures)

    async def due_failed(self, key: str, error: str, at: datetime,
                         max_attempts: int) -> DueFailure:
        failure: DueFailure = await self.writer.run(
            lambda conn: duework.record_failure(conn, key, error, at, max_attempts))
        return failure

    async def due_done(self, key: str) -> None:
        await self.writer.run(lambda conn: duework.forget(conn, key))


def _probe(conn: Connection) -> None:
    # A write that changes nothing, but which SQLite and PostgreSQL still have to write.
    conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))


def broadcast_key(broadcast: Broadcast, person: PersonId) -> str:
    """One invite per person and event, however often it is broadcast; one reminder per
    reminder broadcast."""
    if broadcast.kind == "invite":
        return f"invite:{broadcast.event_id}:{person}"
    return f"{broadcast.kind}:{broadcast.id}:{person}"


def _reachable() -> sa.Join:
    """People with their identity on the network invites go to."""
    joined: sa.Join = state_t.join(identity_t, sa.and_(
        identity_t.c.person_id == state_t.c.person_id, identity_t.c.network == state_t.c.reach))
    return joined


def _audience(audience: Audience) -> list[sa.ColumnElement[bool]]:
    where = [state_t.c.invites.is_(True), state_t.c.milestone >= audience.min_milestone]
    if audience.regions:
        where.append(state_t.c.region.in_(audience.regions))
    if audience.rsvp:
        where.append(sa.exists(sa.select(rsvp_t.c.person_id).where(
            rsvp_t.c.event_id == audience.event_id, rsvp_t.c.answer == audience.rsvp,
            rsvp_t.c.person_id == state_t.c.person_id)))
    elif audience.event_id:  # already invited to this event: not again
        where.append(~sa.exists(sa.select(outbox_t.c.id).select_from(
            outbox_t.join(broadcast_t, outbox_t.c.broadcast_id == broadcast_t.c.id)).where(
            outbox_t.c.person_id == state_t.c.person_id,
            broadcast_t.c.event_id == audience.event_id, broadcast_t.c.kind == "invite")))
    return where


def _event(row: Any) -> Event:
    return Event(row.id, row.title, row.starts_at, row.timezone, row.place, tuple(row.regions),
                 row.audience, row.capacity, (), row.created_by, "chat")


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(row.id, row.event_id, row.kind, row.status, row.send_at, row.cursor,
                     row.recipients, row.created_by, row.created_at, row.finished_at)
