"""SQL for the domain records flows ask to write (claims, certificates, link codes, merges)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.records import (
    Certificate,
    ClaimTask,
    EndClaim,
    LinkCode,
    MergePersons,
    Record,
    TouchClaim,
    UseLinkCode,
)
from storage.tables import (
    CertificateRow,
    FlowState,
    IdentityRow,
    LinkCodeRow,
    OutboxRowTable,
    Person,
    ProgressEvent,
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

_active = claim_t.c.ended_at.is_(None)


def apply_record(conn: Connection, record: Record) -> None:
    """Write one record; uniqueness violations propagate as IntegrityError."""
    match record:
        case ClaimTask():
            conn.execute(sa.insert(claim_t).values(
                task_id=record.task_id, project_id=record.project_id,
                person_id=record.person_id, claimed_at=record.at,
                last_activity_at=record.at, outcome=""))
        case EndClaim():
            conn.execute(sa.update(claim_t).where(
                claim_t.c.person_id == record.person_id, claim_t.c.task_id == record.task_id,
                _active).values(ended_at=record.at, outcome=record.outcome))
        case TouchClaim():
            conn.execute(sa.update(claim_t).where(
                claim_t.c.person_id == record.person_id, _active).values(
                last_activity_at=record.at))
        case Certificate():
            conn.execute(sa.insert(cert_t).values(
                code=record.code, person_id=record.person_id, holder=record.holder,
                workshop_id=record.workshop_id, workshop_title=record.workshop_title,
                issued_at=record.issued_at))
        case LinkCode():
            conn.execute(sa.insert(link_t).values(
                code=record.code, person_id=record.person_id, created_at=record.created_at,
                expires_at=record.expires_at, used_at=None))
        case UseLinkCode():
            result = conn.execute(sa.update(link_t).where(
                link_t.c.code == record.code, link_t.c.used_at.is_(None)).values(
                used_at=sa.func.now()))
            if result.rowcount != 1:
                raise sa.exc.IntegrityError("link code already used", None,
                                            Exception("link code already used"))
        case MergePersons():
            _merge(conn, record)


def _merge(conn: Connection, record: MergePersons) -> None:
    source, target = record.source, record.target
    for table in (identity_t, claim_t, cert_t, link_t, event_t, outbox_t):
        conn.execute(sa.update(table).where(table.c.person_id == source).values(
            person_id=target))
    # The source's path state was folded into the target's by the flow; drop the rest.
    conn.execute(sa.delete(state_t).where(state_t.c.person_id == source))
    conn.execute(sa.delete(person_t).where(person_t.c.id == source))
