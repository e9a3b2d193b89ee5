"""SQL for the domain records flows ask to write (claims, certificates, link codes, merges)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.records import (
    AddMentor,
    Audit,
    CancelBroadcast,
    Certificate,
    ClaimCase,
    ClaimTask,
    CreateEvent,
    EndClaim,
    LinkCode,
    MentorAway,
    MergePersons,
    OpenCase,
    PingCase,
    Record,
    ReleaseCase,
    ResolveCase,
    ScheduleBroadcast,
    SetRsvp,
    TouchClaim,
    UseLinkCode,
)
from storage.tables import (
    AuditRow,
    BroadcastRow,
    CertificateRow,
    EventRow,
    FlowState,
    HelpCase,
    IdentityRow,
    LinkCodeRow,
    MentorAssignment,
    MentorStateRow,
    OutboxRowTable,
    Person,
    ProgressEvent,
    RsvpRow,
    TaskClaimRow,
)

claim_t = TaskClaimRow.__table__  # type: ignore[attr-defined]
cert_t = CertificateRow.__table__  # type: ignore[attr-defined]
link_t = LinkCodeRow.__table__  # type: ignore[attr-defined]
identity_t = IdentityRow.__table__  # type: ignore[attr-defined]
person_t = Person.__table__  # type: ignore[attr-defined]
state_t = FlowState.__table__  # type: ignore[attr-defined]
event_t = ProgressEvent.__table__  # type: ignore[attr-defined]
outbox_t = OutboxRowTable.__table__  # type: ignore[attr-defined]

case_t = HelpCase.__table__  # type: ignore[attr-defined]
mentor_state_t = MentorStateRow.__table__  # type: ignore[attr-defined]
assignment_t = MentorAssignment.__table__  # type: ignore[attr-defined]
audit_t = AuditRow.__table__  # type: ignore[attr-defined]
program_event_t = EventRow.__table__  # type: ignore[attr-defined]
broadcast_t = BroadcastRow.__table__  # type: ignore[attr-defined]
rsvp_t = RsvpRow.__table__  # type: ignore[attr-defined]

_active = claim_t.c.ended_at.is_(None)


def _bind(name: str) -> sa.BindParameter[object]:
    return sa.bindparam(f"b_{name}")


# Built once: a statement object per call would be compiled-cache-keyed again every time.
_CLAIM = sa.insert(claim_t)
_END_CLAIM = sa.update(claim_t).where(
    claim_t.c.person_id == _bind("person"), claim_t.c.task_id == _bind("task"), _active,
).values(ended_at=_bind("at"), outcome=_bind("outcome"))
_TOUCH_CLAIM = sa.update(claim_t).where(claim_t.c.person_id == _bind("person"), _active).values(
    last_activity_at=_bind("at"))
_CERTIFICATE = sa.insert(cert_t)
_LINK_CODE = sa.insert(link_t)
_USE_LINK_CODE = sa.update(link_t).where(
    link_t.c.code == _bind("code"), link_t.c.used_at.is_(None)).values(used_at=_bind("at"))


def apply_record(conn: Connection, record: Record) -> None:
    """Write one record; uniqueness violations propagate as IntegrityError."""
    match record:
        case ClaimTask():
            conn.execute(_CLAIM, {"task_id": record.task_id, "project_id": record.project_id,
                                  "person_id": record.person_id, "claimed_at": record.at,
                                  "last_activity_at": record.at, "outcome": ""})
        case EndClaim():
            conn.execute(_END_CLAIM, {"b_person": record.person_id, "b_task": record.task_id,
                                      "b_at": record.at, "b_outcome": record.outcome})
        case TouchClaim():
            conn.execute(_TOUCH_CLAIM, {"b_person": record.person_id, "b_at": record.at})
        case Certificate():
            conn.execute(_CERTIFICATE, {
                "code": record.code, "person_id": record.person_id, "holder": record.holder,
                "workshop_id": record.workshop_id, "workshop_title": record.workshop_title,
                "issued_at": record.issued_at})
        case LinkCode():
            conn.execute(_LINK_CODE, {"code": record.code, "person_id": record.person_id,
                                      "created_at": record.created_at,
                                      "expires_at": record.expires_at, "used_at": None})
        case UseLinkCode():
            _expect_one(conn.execute(_USE_LINK_CODE, {"b_code": record.code,
                                                      "b_at": datetime.now(UTC)}),
                        "link code already used")
        case MergePersons():
            _merge(conn, record)
        case CreateEvent() | ScheduleBroadcast() | CancelBroadcast() | SetRsvp():
            _apply_events(conn, record)
        case _:
            _apply_mentoring(conn, record)


class StaleRecord(sa.exc.IntegrityError):
    """A conditional update found the row changed by someone else (the caller retries)."""

    def __init__(self, what: str) -> None:
        super().__init__(what, None, Exception(what))


def _expect_one(result: sa.CursorResult[Any], what: str) -> None:
    if result.rowcount != 1:
        raise StaleRecord(what)


def _upsert(conn: Connection, table: sa.Table, key: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert or update one row by primary key, portably (rare writes, not the hot path)."""
    where = [table.c[name] == value for name, value in key.items()]
    if conn.execute(sa.update(table).where(*where).values(**values)).rowcount == 0:
        conn.execute(sa.insert(table).values(**key, **values))


def _apply_mentoring(conn: Connection, record: Record) -> None:
    match record:
        case OpenCase():
            conn.execute(sa.insert(case_t).values(
                code=record.code, person_id=record.person_id, newcomer=record.newcomer,
                project_id=record.project_id, subject=record.subject[:300],
                reason=record.reason[:500], source=record.source, status="open", level=0,
                tried=[], created_at=record.at))
        case PingCase():
            _expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status == "open").values(
                mentor_key=record.mentor_key, level=record.level, tried=list(record.tried),
                pinged_at=record.at, escalate_at=record.escalate_at)), "case no longer open")
            if record.level < 2 and record.mentor_key:
                _upsert(conn, mentor_state_t, {"mentor_key": record.mentor_key},
                        {"last_assigned_at": record.at})
        case ClaimCase():
            _expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status == "open").values(
                status="claimed", claimed_by=record.mentor_key, claimed_at=record.at,
                escalate_at=None)), "case already claimed")
        case ReleaseCase():
            _expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status == "claimed",
                case_t.c.claimed_by == record.mentor_key).values(
                status="open", claimed_by="", claimed_at=None)), "case not held")
        case ResolveCase():
            _expect_one(conn.execute(sa.update(case_t).where(
                case_t.c.code == record.code, case_t.c.status.in_(("open", "claimed")),
                sa.or_(case_t.c.claimed_by == record.mentor_key, case_t.c.claimed_by == ""),
            ).values(status="resolved", claimed_by=record.mentor_key, note=record.note[:500],
                     resolved_at=record.at, escalate_at=None)), "case not held")
        case MentorAway():
            _upsert(conn, mentor_state_t, {"mentor_key": record.mentor_key},
                    {"away_until": record.until})
        case AddMentor():
            exists = conn.execute(sa.select(assignment_t.c.project_id).where(
                assignment_t.c.project_id == record.project_id,
                assignment_t.c.identity_key == record.identity_key)).first()
            if exists is None:
                conn.execute(sa.insert(assignment_t).values(
                    project_id=record.project_id, identity_key=record.identity_key))
        case Audit():
            conn.execute(sa.insert(audit_t).values(
                identity=record.identity, action=record.action, detail=record.detail[:1000],
                at=record.at))


def _apply_events(conn: Connection, record: Record) -> None:
    match record:
        case CreateEvent():
            event = record.event
            conn.execute(sa.insert(program_event_t).values(
                id=event.id, title=event.title, starts_at=event.starts_at,
                timezone=event.timezone, place=event.place, regions=list(event.regions),
                audience=event.audience, capacity=event.capacity, created_by=event.created_by,
                created_at=record.at))
        case ScheduleBroadcast():
            conn.execute(sa.insert(broadcast_t).values(
                event_id=record.event_id, kind=record.kind, status="scheduled",
                send_at=record.send_at, cursor=0, recipients=0, created_by=record.created_by,
                created_at=record.at))
        case CancelBroadcast():
            conn.execute(sa.update(broadcast_t).where(
                broadcast_t.c.event_id == record.event_id,
                broadcast_t.c.status == "scheduled").values(status="cancelled"))
        case SetRsvp():
            _upsert(conn, rsvp_t, {"event_id": record.event_id, "person_id": record.person_id},
                    {"answer": record.answer, "at": record.at})


def _merge(conn: Connection, record: MergePersons) -> None:
    source, target = record.source, record.target
    for table in (identity_t, claim_t, cert_t, link_t, event_t, outbox_t, case_t):
        conn.execute(sa.update(table).where(table.c.person_id == source).values(
            person_id=target))
    # Answers to events both gave: the target's stands; the source's others move over.
    conn.execute(sa.delete(rsvp_t).where(rsvp_t.c.person_id == source, rsvp_t.c.event_id.in_(
        sa.select(rsvp_t.c.event_id).where(rsvp_t.c.person_id == target))))
    conn.execute(sa.update(rsvp_t).where(rsvp_t.c.person_id == source).values(person_id=target))
    # The source's path state was folded into the target's by the flow; drop the rest.
    conn.execute(sa.delete(state_t).where(state_t.c.person_id == source))
    conn.execute(sa.delete(person_t).where(person_t.c.id == source))
