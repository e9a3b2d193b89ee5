"""The events feature's tables (events created in chat, broadcasts, answers), its queries,
and how its records apply in a unit of work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.i18n import LocalizedStr
from bot.model import ExternalId, Identity, Network, PersonId, compact_json, outbound_to_json
from bot.outbox import DEFER_KEY
from bot.records import Record
from flows.events.records import (
    Audience,
    Broadcast,
    BuddyNeed,
    CancelBroadcast,
    CheckIn,
    Compose,
    CreateEvent,
    DeliveryCounts,
    Event,
    FollowedUp,
    FollowUp,
    Frame,
    JoinInviteList,
    LeaveInviteList,
    PairBuddy,
    Recipient,
    ScheduleBroadcast,
    SetBuddy,
    SetCheckinCode,
    SetFeedback,
    SetRsvp,
    Standing,
    UpdateEvent,
)
from storage.bulk import BulkSql
from storage.queries import Queries
from storage.records import (
    Personal,
    PersonRef,
    RecordSql,
    blank_identity,
    by_identity,
    by_person,
    expect_one,
    identity_t,
    move_rows,
    outbox_t,
    upsert,
)
from storage.tables import Table, _when, partial


class EventRow(Table, table=True):
    """Events organizers create in chat (content/events/*.toml hold the others)."""

    __tablename__ = "program_event"
    id: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    starts_at: datetime = _when()
    timezone: str = Field(max_length=64)
    place: str = Field(default="", max_length=300)
    regions: list[str] = Field(default_factory=list,
                               sa_column=sa.Column(sa.JSON(), nullable=False))
    audience: str = Field(max_length=32)
    capacity: int | None = None
    created_by: str = Field(default="", max_length=300)
    created_at: datetime = _when()
    # What it is, and the project or workshop it is for (migrations/events/0004).
    kind: str = Field(default="meetup", max_length=32,
                      sa_column_kwargs={"server_default": "meetup"})
    project: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    workshop: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class BroadcastRow(Table, table=True):
    """One send of an event's invite or reminder: scheduled, fanning out, then done."""

    __tablename__ = "broadcast"
    __table_args__ = (sa.Index("ix_broadcast_due", "status", "send_at"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # "invite" or "reminder"
    status: str = Field(max_length=16)  # "scheduled", "sending", "done", "cancelled"
    send_at: datetime = _when()
    cursor: int = 0  # the last person_id fanned out to: a restart resumes after it
    recipients: int = 0
    created_by: str = Field(default="", max_length=300)
    created_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    # Answers whose people an invite reaches again, comma-separated (migrations/events/0003).
    including: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    # Kind "message": the text sent to an invite list's members (migrations/events/0005).
    message: str = Field(default="", max_length=2000, sa_column_kwargs={"server_default": ""})
    # The words around a message, worded for each member (flows.events.records.Frame); NULL:
    # the message goes as it is (migrations/events/0009).
    frame: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON(),
                                                                           nullable=True))


class RsvpRow(Table, table=True):
    __tablename__ = "rsvp"
    # Forgetting or merging a person looks rsvps up by person (migrations/events/0001).
    __table_args__ = (sa.Index("ix_rsvp_person_id", "person_id"),)
    event_id: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    answer: str = Field(max_length=8)
    at: datetime = _when()


class StandingRow(Table, table=True):
    """What audiences select on, one row per person: the events feature's projection of the
    person's state (flows.events.records.Standing), written when it changes."""

    __tablename__ = "person_standing"
    __table_args__ = (
        # Invite audiences: consenting people by region (the broadcast preview and fan-out).
        sa.Index("ix_person_standing_invites", "region", "person_id",
                 **partial("invites")),
    )
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    region: str = Field(default="", max_length=64)
    timezone: str = Field(default="", max_length=64)
    invites: bool = False  # consented, and has not left the path
    milestone: int = 0
    reach: str = Field(default="", max_length=32)  # the network invites go to
    # Project meetings and workshop sessions invite by these (migrations/events/0004).
    project: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    workshop: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    # The language they chose or their client names, which invites and reminders are
    # worded in; NULL for the community's default (migrations/events/0008; 0010 filled it in
    # for people stored before, from their stored state).
    locale: str | None = Field(default=None, max_length=16)


class InviteListRow(Table, table=True):
    """Who asked to be on an invite list other than a region's (a local group's: "group:ID");
    a broadcast of kind "message" to that list reaches them."""

    __tablename__ = "invite_list"
    # Forgetting or merging a person looks their lists up by person (migrations/events/0005).
    __table_args__ = (sa.Index("ix_invite_list_person_id", "person_id"),)
    list_key: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    joined_at: datetime = _when()


class CheckinCodeRow(Table, table=True):
    """The code shown at an event's venue (`!checkin code EVENT` makes it once)."""

    __tablename__ = "event_checkin"
    event_id: str = Field(primary_key=True, max_length=64)
    code: str = Field(max_length=16, unique=True)
    created_by: str = Field(default="", max_length=300)
    created_at: datetime = _when()


class AttendanceRow(Table, table=True):
    """Who checked in at an event; the next day's follow-up (due at follow_up_at, NULL once
    sent) and the feedback they gave."""

    __tablename__ = "attendance"
    __table_args__ = (
        sa.Index("ix_attendance_person_id", "person_id"),
        sa.Index("ix_attendance_follow_up", "follow_up_at",
                 **partial("follow_up_at IS NOT NULL")),
    )
    event_id: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    kind: str = Field(default="meetup", max_length=32)
    at: datetime = _when()
    follow_up_at: datetime | None = _when(nullable=True)
    rating: int | None = None
    comment: str = Field(default="", max_length=500)


class BuddyRow(Table, table=True):
    """A person's part in an event's buddies: a volunteer, or a first-timer (paired with a
    buddy at pair_at, a week before the event starts)."""

    __tablename__ = "event_buddy"
    __table_args__ = (
        sa.Index("ix_event_buddy_person_id", "person_id"),
        sa.Index("ix_event_buddy_due", "pair_at",
                 **partial("buddy_id IS NULL AND pair_at IS NOT NULL")),
    )
    event_id: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(primary_key=True, foreign_key="person.id", ondelete="CASCADE")
    role: str = Field(max_length=16)  # "volunteer" or "newcomer"
    pair_at: datetime | None = _when(nullable=True)
    starts_at: datetime | None = _when(nullable=True)
    # A first-timer's buddy once paired (NULL if the buddy is forgotten: paired again).
    buddy_id: int | None = Field(default=None, foreign_key="person.id", ondelete="SET NULL")
    paired_at: datetime | None = _when(nullable=True)


program_event_t = EventRow.__table__  # type: ignore[attr-defined]
buddy_t = BuddyRow.__table__  # type: ignore[attr-defined]
checkin_t = CheckinCodeRow.__table__  # type: ignore[attr-defined]
attendance_t = AttendanceRow.__table__  # type: ignore[attr-defined]
broadcast_t = BroadcastRow.__table__  # type: ignore[attr-defined]
rsvp_t = RsvpRow.__table__  # type: ignore[attr-defined]
standing_t = StandingRow.__table__  # type: ignore[attr-defined]
invite_list_t = InviteListRow.__table__  # type: ignore[attr-defined]


class EventsQueries(Queries):
    async def event(self, event_id: str) -> Event | None:
        row = await self._one(sa.select(program_event_t).where(program_event_t.c.id == event_id))
        return None if row is None else _event(row)

    async def events(self) -> list[Event]:
        rows = await self._all(sa.select(program_event_t).order_by(program_event_t.c.starts_at))
        return [_event(r) for r in rows]

    async def audience_counts(self, audience: Audience) -> list[tuple[str, str, int]]:
        people = sa.func.count(sa.distinct(standing_t.c.person_id))
        rows = await self._all(sa.select(identity_t.c.network, standing_t.c.region, people)
                               .select_from(_reachable()).where(*_audience(audience))
                               .group_by(identity_t.c.network, standing_t.c.region)
                               .order_by(identity_t.c.network, standing_t.c.region))
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def invite_lists_of(self, person_id: PersonId) -> list[str]:
        rows = await self._all(sa.select(invite_list_t.c.list_key).where(
            invite_list_t.c.person_id == person_id).order_by(invite_list_t.c.list_key))
        return [str(r.list_key) for r in rows]

    async def invite_list_size(self, list_key: str) -> int:
        row = await self._one(sa.select(sa.func.count()).select_from(invite_list_t).where(
            invite_list_t.c.list_key == list_key))
        return int(row[0]) if row is not None else 0

    async def rsvp_of(self, event_id: str, person_id: PersonId) -> str | None:
        row = await self._one(sa.select(rsvp_t.c.answer).where(
            rsvp_t.c.event_id == event_id, rsvp_t.c.person_id == person_id))
        return None if row is None else str(row.answer)

    async def invited_to(self, event_id: str, person_id: PersonId) -> bool:
        row = await self._one(sa.select(outbox_t.c.id).select_from(
            outbox_t.join(broadcast_t, outbox_t.c.broadcast_id == broadcast_t.c.id)).where(
            outbox_t.c.person_id == person_id, broadcast_t.c.event_id == event_id,
            broadcast_t.c.kind == "invite").limit(1))
        return row is not None

    async def rsvp_counts(self, event_id: str) -> list[tuple[str, str, int]]:
        region = sa.func.coalesce(standing_t.c.region, "")
        rows = await self._all(
            sa.select(region, rsvp_t.c.answer, sa.func.count())
            .select_from(rsvp_t.outerjoin(standing_t, standing_t.c.person_id == rsvp_t.c.person_id))
            .where(rsvp_t.c.event_id == event_id)
            .group_by(region, rsvp_t.c.answer).order_by(region, rsvp_t.c.answer))
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def rsvp_list(self, event_id: str) -> list[tuple[PersonId, str, str, int, str]]:
        rows = await self._all(
            sa.select(rsvp_t.c.person_id, rsvp_t.c.answer, standing_t.c.region,
                      standing_t.c.milestone)
            .select_from(rsvp_t.outerjoin(standing_t, standing_t.c.person_id == rsvp_t.c.person_id))
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

    async def checkin_code(self, event_id: str) -> str | None:
        row = await self._one(sa.select(checkin_t.c.code).where(checkin_t.c.event_id == event_id))
        return None if row is None else str(row.code)

    async def event_of_code(self, code: str) -> str | None:
        row = await self._one(sa.select(checkin_t.c.event_id).where(checkin_t.c.code == code))
        return None if row is None else str(row.event_id)

    async def attended(self, event_id: str, person_id: PersonId) -> bool:
        row = await self._one(sa.select(attendance_t.c.at).where(
            attendance_t.c.event_id == event_id, attendance_t.c.person_id == person_id))
        return row is not None

    async def event_feedback(self, event_id: str) -> list[tuple[int, str]]:
        rows = await self._all(sa.select(attendance_t.c.rating, attendance_t.c.comment).where(
            attendance_t.c.event_id == event_id, attendance_t.c.rating.is_not(None))
            .order_by(attendance_t.c.at))
        return [(int(r.rating), r.comment or "") for r in rows]

    async def attendance_count(self, event_id: str) -> int:
        row = await self._one(sa.select(sa.func.count()).where(
            attendance_t.c.event_id == event_id))
        return int(row[0]) if row is not None else 0

    async def due_follow_ups(self, now: datetime, limit: int = 200) -> list[FollowUp]:
        rows = await self._all(
            sa.select(attendance_t.c.event_id, attendance_t.c.person_id, identity_t.c.network,
                      identity_t.c.external_id, identity_t.c.verified)
            .select_from(attendance_t.join(standing_t, standing_t.c.person_id ==
                                           attendance_t.c.person_id).join(identity_t, sa.and_(
                identity_t.c.person_id == standing_t.c.person_id,
                identity_t.c.network == standing_t.c.reach)))
            .where(attendance_t.c.follow_up_at <= now,
                   # a week late is too late to say thanks: those are dropped by the job
                   attendance_t.c.follow_up_at > now - timedelta(days=7))
            .order_by(attendance_t.c.follow_up_at).limit(limit))
        seen: set[tuple[str, int]] = set()
        found = []
        for r in rows:
            if (r.event_id, r.person_id) not in seen:
                seen.add((r.event_id, r.person_id))
                found.append(FollowUp(r.event_id, PersonId(r.person_id), Identity(
                    Network(r.network), ExternalId(r.external_id), r.verified)))
        return found

    async def attendance_of(self, person_id: PersonId) -> int:
        """How many events the person checked in at."""
        row = await self._one(sa.select(sa.func.count()).where(
            attendance_t.c.person_id == person_id))
        return int(row[0]) if row is not None else 0

    async def buddy_role(self, event_id: str, person_id: PersonId) -> str | None:
        row = await self._one(sa.select(buddy_t.c.role).where(
            buddy_t.c.event_id == event_id, buddy_t.c.person_id == person_id))
        return None if row is None else str(row.role)

    async def buddy_needs(self, now: datetime, limit: int = 200) -> list[BuddyNeed]:
        def reach(person: sa.ColumnElement[Any]) -> sa.Select[Any]:
            return (sa.select(identity_t.c.network, identity_t.c.external_id,
                              identity_t.c.verified)
                    .select_from(standing_t.join(identity_t, sa.and_(
                        identity_t.c.person_id == standing_t.c.person_id,
                        identity_t.c.network == standing_t.c.reach)))
                    .where(standing_t.c.person_id == person).limit(1))

        def said_yes(event: Any, person: Any) -> sa.Exists:
            return sa.exists(sa.select(rsvp_t.c.person_id).where(
                rsvp_t.c.event_id == event, rsvp_t.c.person_id == person,
                rsvp_t.c.answer == "yes"))

        def read(conn: Connection) -> list[BuddyNeed]:
            due = conn.execute(sa.select(buddy_t.c.event_id, buddy_t.c.person_id).where(
                buddy_t.c.role == "newcomer", buddy_t.c.buddy_id.is_(None),
                buddy_t.c.pair_at <= now, buddy_t.c.starts_at > now,
                said_yes(buddy_t.c.event_id, buddy_t.c.person_id))
                .order_by(buddy_t.c.event_id, buddy_t.c.pair_at, buddy_t.c.person_id)
                .limit(limit)).all()
            found: list[BuddyNeed] = []
            volunteers: dict[str, tuple[tuple[PersonId, Identity, int], ...]] = {}
            for need in due:
                if need.event_id not in volunteers:
                    v = buddy_t.alias("v")
                    load = (sa.select(sa.func.count()).where(
                        buddy_t.c.event_id == v.c.event_id,
                        buddy_t.c.buddy_id == v.c.person_id).scalar_subquery())
                    rows = conn.execute(sa.select(v.c.person_id, load).where(
                        v.c.event_id == need.event_id, v.c.role == "volunteer",
                        said_yes(v.c.event_id, v.c.person_id))
                        .order_by(v.c.person_id)).all()
                    listed = []
                    for r in rows:
                        ident = conn.execute(reach(sa.literal(r[0]))).first()
                        if ident is not None:
                            listed.append((PersonId(r[0]), _identity(ident), int(r[1])))
                    volunteers[need.event_id] = tuple(listed)
                ident = conn.execute(reach(sa.literal(need.person_id))).first()
                if ident is not None:
                    found.append(BuddyNeed(need.event_id, PersonId(need.person_id),
                                           _identity(ident), volunteers[need.event_id]))
            return found

        return await self.db.read(read)

    async def buddy_pairs(self, event_id: str) -> list[tuple[str, str]]:
        """(first-timer, buddy) as identity keys; the buddy "" while none is found; then
        the volunteers without a first-timer as ("", volunteer)."""
        def key(person: Any) -> sa.ScalarSelect[Any]:
            return (sa.select(sa.func.min(identity_t.c.network + ":" + identity_t.c.external_id))
                    .where(identity_t.c.person_id == person).scalar_subquery())

        rows = await self._all(sa.select(buddy_t.c.role, key(buddy_t.c.person_id),
                                         key(buddy_t.c.buddy_id), buddy_t.c.person_id)
                               .where(buddy_t.c.event_id == event_id)
                               .order_by(buddy_t.c.role, buddy_t.c.person_id))
        pairs = [(r[1] or "", r[2] or "") for r in rows if r[0] == "newcomer"]
        taken = {buddy for _, buddy in pairs}
        return pairs + [("", r[1] or "") for r in rows
                        if r[0] == "volunteer" and (r[1] or "") not in taken]

    async def due_broadcasts(self, now: datetime) -> list[Broadcast]:
        rows = await self._all(sa.select(broadcast_t).where(sa.or_(
            broadcast_t.c.status == "sending",
            sa.and_(broadcast_t.c.status == "scheduled", broadcast_t.c.send_at <= now),
        )).order_by(broadcast_t.c.send_at, broadcast_t.c.id))
        return [_broadcast(r) for r in rows]

    async def fan_out(self, broadcast: Broadcast, audience: Audience, compose: Compose,
                      limit: int) -> int:
        sql = self.writer.sql
        query = (sa.select(standing_t.c.person_id, standing_t.c.region, standing_t.c.timezone,
                           standing_t.c.locale, identity_t.c.network, identity_t.c.external_id,
                           identity_t.c.verified)
                 .select_from(_reachable()).where(*_audience(audience))
                 # person id alone: ordering by the external id too makes SQLite walk the
                 # (network, external_id) key and scan a whole network per person.
                 .order_by(standing_t.c.person_id))
        this = broadcast_t.c.id == broadcast.id

        def job(conn: Connection) -> int:
            cursor = conn.execute(sa.select(broadcast_t.c.cursor, broadcast_t.c.status)
                                  .where(this)).one()
            if cursor.status not in ("scheduled", "sending"):
                return 0  # cancelled meanwhile, or finished by an earlier run
            now = datetime.now(UTC)
            at = sql.when(now)
            recipients = conn.execute(query.where(standing_t.c.person_id > cursor.cursor)
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
                message, not_before, deferral = compose(
                    Recipient(person, identity, r.region, r.timezone, r.locale or ""))
                body = outbound_to_json(message)
                if deferral:  # the dispatcher asks the composition root's deferral again
                    body[DEFER_KEY] = deferral
                rows.append((broadcast_key(broadcast, person), r.network, person,
                             compact_json(body), "deferred" if not_before else "pending",
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


def broadcast_key(broadcast: Broadcast, person: PersonId) -> str:
    """One invite per person and event, however often it is broadcast (one per broadcast
    that invites those who answered again); one reminder per reminder broadcast."""
    if broadcast.kind == "invite":
        again = f":{broadcast.id}" if broadcast.including else ""
        return f"invite:{broadcast.event_id}:{person}{again}"
    return f"{broadcast.kind}:{broadcast.id}:{person}"


def _reachable() -> sa.Join:
    """People with their identity on the network invites go to."""
    joined: sa.Join = standing_t.join(identity_t, sa.and_(
        identity_t.c.person_id == standing_t.c.person_id,
        identity_t.c.network == standing_t.c.reach))
    return joined


def _audience(audience: Audience) -> list[sa.ColumnElement[bool]]:
    if audience.members:  # a list's members: joining it was their consent
        return [sa.exists(sa.select(invite_list_t.c.person_id).where(
            invite_list_t.c.list_key == audience.members,
            invite_list_t.c.person_id == standing_t.c.person_id))]
    where = [standing_t.c.invites.is_(True), standing_t.c.milestone >= audience.min_milestone]
    if audience.regions:
        where.append(standing_t.c.region.in_(audience.regions))
    if audience.project:
        where.append(standing_t.c.project == audience.project)
    if audience.workshop:
        where.append(standing_t.c.workshop == audience.workshop)
    if audience.rsvp:
        where.append(sa.exists(sa.select(rsvp_t.c.person_id).where(
            rsvp_t.c.event_id == audience.event_id, rsvp_t.c.answer == audience.rsvp,
            rsvp_t.c.person_id == standing_t.c.person_id)))
    elif audience.event_id:  # answered or already invited: not again, unless included
        def answered(*more: sa.ColumnElement[bool]) -> sa.Exists:
            return sa.exists(sa.select(rsvp_t.c.person_id).where(
                rsvp_t.c.event_id == audience.event_id,
                rsvp_t.c.person_id == standing_t.c.person_id, *more))

        invited = sa.exists(sa.select(outbox_t.c.id).select_from(
            outbox_t.join(broadcast_t, outbox_t.c.broadcast_id == broadcast_t.c.id)).where(
            outbox_t.c.person_id == standing_t.c.person_id,
            broadcast_t.c.event_id == audience.event_id, broadcast_t.c.kind == "invite"))
        if audience.including:
            where.append(~answered(rsvp_t.c.answer.not_in(audience.including)))
            where.append(sa.or_(~invited, answered(rsvp_t.c.answer.in_(audience.including))))
        else:
            where.append(~answered())
            where.append(~invited)
    return where


def _erase_buddy(conn: Connection, table: sa.Table, ref: PersonRef) -> int:
    """Their own rows go; as someone's buddy, they are cleared from that row."""
    own = conn.execute(sa.delete(table).where(table.c.person_id == ref.person_id)).rowcount
    theirs = conn.execute(sa.update(table).where(table.c.buddy_id == ref.person_id)
                          .values(buddy_id=None, paired_at=None)).rowcount
    return int(own or 0) + int(theirs or 0)


def _identity(row: Any) -> Identity:
    return Identity(Network(row.network), ExternalId(row.external_id), row.verified)


def _event(row: Any) -> Event:
    return Event(row.id, row.title, row.starts_at, row.timezone, row.place, tuple(row.regions),
                 row.audience, row.capacity, (), row.created_by, "chat", row.kind or "meetup",
                 row.project or "", row.workshop or "")


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(row.id, row.event_id, row.kind, row.status, row.send_at, row.cursor,
                     row.recipients, row.created_by, row.created_at, row.finished_at,
                     tuple(a for a in (row.including or "").split(",") if a),
                     row.message or "", _frame(row.frame))


def _frame_json(frame: Frame | None) -> dict[str, Any] | None:
    """A frame as the broadcast row keeps it; a value with translations keeps them all."""
    if frame is None:
        return None
    values = {name: (dict(translations) if (translations := getattr(value, "translations",
                                                                    None)) else str(value))
              for name, value in frame.values}
    return {"before": frame.before, "after": frame.after, "values": values}


def _frame(stored: Any) -> Frame | None:
    if not isinstance(stored, dict):
        return None
    values: list[tuple[str, str]] = []
    for name, value in (stored.get("values") or {}).items():
        try:
            values.append((str(name), LocalizedStr.parse(value)))
        except ValueError:  # not as written: the text alone
            values.append((str(name), str(value)))
    return Frame(str(stored.get("before") or ""), str(stored.get("after") or ""),
                 tuple(values))


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case CreateEvent():
            event = record.event
            conn.execute(sa.insert(program_event_t).values(
                id=event.id, title=event.title, starts_at=event.starts_at,
                timezone=event.timezone, place=event.place, regions=list(event.regions),
                audience=event.audience, capacity=event.capacity, created_by=event.created_by,
                created_at=record.at, kind=event.kind, project=event.project,
                workshop=event.workshop))
        case UpdateEvent():
            event = record.event
            expect_one(conn.execute(sa.update(program_event_t).where(
                program_event_t.c.id == event.id).values(
                title=event.title, starts_at=event.starts_at, timezone=event.timezone,
                place=event.place, regions=list(event.regions), audience=event.audience,
                capacity=event.capacity, kind=event.kind, project=event.project,
                workshop=event.workshop)), "no such event")
        case ScheduleBroadcast():
            conn.execute(sa.insert(broadcast_t).values(
                event_id=record.event_id, kind=record.kind, status="scheduled",
                send_at=record.send_at, cursor=0, recipients=0, created_by=record.created_by,
                created_at=record.at, including=",".join(record.including),
                message=record.message[:2000], frame=_frame_json(record.frame)))
        case CancelBroadcast():
            conn.execute(sa.update(broadcast_t).where(
                broadcast_t.c.event_id == record.event_id,
                broadcast_t.c.status == "scheduled").values(status="cancelled"))
        case SetRsvp():
            upsert(conn, rsvp_t, {"event_id": record.event_id, "person_id": record.person_id},
                   {"answer": record.answer, "at": record.at})
        case SetBuddy() if record.on:
            upsert(conn, buddy_t, {"event_id": record.event_id, "person_id": record.person_id},
                   {"role": record.role, "pair_at": record.pair_at,
                    "starts_at": record.starts_at})
        case SetBuddy():
            conn.execute(sa.delete(buddy_t).where(buddy_t.c.event_id == record.event_id,
                                                  buddy_t.c.person_id == record.person_id))
            # A buddy who is not coming any more: their first-timer is paired again.
            conn.execute(sa.update(buddy_t).where(
                buddy_t.c.event_id == record.event_id,
                buddy_t.c.buddy_id == record.person_id).values(buddy_id=None, paired_at=None))
        case PairBuddy():
            conn.execute(sa.update(buddy_t).where(
                buddy_t.c.event_id == record.event_id,
                buddy_t.c.person_id == record.newcomer).values(
                buddy_id=record.buddy, paired_at=record.at))
        case SetCheckinCode():
            conn.execute(sa.insert(checkin_t).values(
                event_id=record.event_id, code=record.code, created_by=record.by,
                created_at=record.at))
        case CheckIn():
            upsert(conn, attendance_t, {"event_id": record.event_id,
                                        "person_id": record.person_id},
                   {"kind": record.kind, "at": record.at, "follow_up_at": record.follow_up_at})
        case FollowedUp():
            conn.execute(sa.update(attendance_t).where(
                attendance_t.c.event_id == record.event_id,
                attendance_t.c.person_id == record.person_id).values(follow_up_at=None))
        case SetFeedback():
            conn.execute(sa.update(attendance_t).where(
                attendance_t.c.event_id == record.event_id,
                attendance_t.c.person_id == record.person_id).values(
                rating=record.rating, comment=record.comment))
        case JoinInviteList():
            upsert(conn, invite_list_t, {"list_key": record.list_key,
                                         "person_id": record.person_id},
                   {"joined_at": record.at})
        case LeaveInviteList():
            conn.execute(sa.delete(invite_list_t).where(
                invite_list_t.c.list_key == record.list_key,
                invite_list_t.c.person_id == record.person_id))


def _move_person(conn: Connection, source: int, target: int) -> None:
    # Answers to events both gave: the target's stands; the source's others move over.
    # Attendance and buddies likewise: the target's at an event both went to stands.
    for table in (rsvp_t, attendance_t, buddy_t):
        move_rows(conn, table, source, target, key="event_id")
    conn.execute(sa.update(buddy_t).where(buddy_t.c.buddy_id == source)
                 .values(buddy_id=target))
    # Lists both were on: the target's row stands; the source's others move over.
    move_rows(conn, invite_list_t, source, target, key="list_key")
    # The target's standing is projected again from the merged state.
    conn.execute(sa.delete(standing_t).where(standing_t.c.person_id == source))


def _standings(conn: Connection, sql: BulkSql, records: Sequence[Standing]) -> None:
    rows = {r.person_id: (r.person_id, r.region, r.timezone, r.invites, r.milestone, r.reach,
                          r.project, r.workshop, r.locale or None)
            for r in records}  # a person's last word in the batch wins
    sql.run_many(
        conn,
        "INSERT INTO person_standing (person_id, region, timezone, invites, milestone, reach, "
        f"project, workshop, locale) VALUES {sql._values(1, 9)} ON CONFLICT (person_id) DO "
        "UPDATE SET region = excluded.region, timezone = excluded.timezone, "
        "invites = excluded.invites, milestone = excluded.milestone, reach = excluded.reach, "
        "project = excluded.project, workshop = excluded.workshop, locale = excluded.locale",
        list(rows.values()))


RECORDS = RecordSql(
    apply=dict.fromkeys((CreateEvent, UpdateEvent, ScheduleBroadcast, CancelBroadcast, SetRsvp,
                         JoinInviteList, LeaveInviteList, SetCheckinCode, CheckIn, FollowedUp,
                         SetFeedback, SetBuddy, PairBuddy), _apply),
    safe=frozenset({SetRsvp, ScheduleBroadcast, CancelBroadcast, JoinInviteList,
                    LeaveInviteList, CheckIn, FollowedUp, SetFeedback, SetBuddy, PairBuddy}),
    bulk={Standing: _standings},
    moves=(_move_person,),
    personal=(
        Personal(rsvp_t, ("person_id",), by_person()),
        Personal(attendance_t, ("person_id",), by_person()),
        # A first-timer's row is theirs; a forgotten buddy is cleared from the first-timer's
        # row (who is then paired again, if the event is still ahead).
        Personal(buddy_t, ("person_id", "buddy_id"), by_person(), erase=_erase_buddy),
        Personal(checkin_t, ("created_by",), by_identity("created_by"),
                 erase=blank_identity("created_by")),
        Personal(standing_t, ("person_id",), by_person()),
        # Which lists (local groups) a person joined: theirs (!mydata, !forget).
        Personal(invite_list_t, ("person_id", "list_key"), by_person()),
        # Events and broadcasts an organizer created stay; who created them is cleared.
        Personal(program_event_t, ("created_by",), by_identity("created_by"),
                 erase=blank_identity("created_by")),
        Personal(broadcast_t, ("created_by",), by_identity("created_by"),
                 erase=blank_identity("created_by")),
    ))
