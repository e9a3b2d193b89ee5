"""SQL for the domain records flows ask to write (claims, certificates, link codes, merges)."""

from __future__ import annotations

from datetime import UTC, datetime

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
            result = conn.execute(_USE_LINK_CODE, {"b_code": record.code,
                                                   "b_at": datetime.now(UTC)})
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
