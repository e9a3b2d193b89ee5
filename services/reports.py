"""Read models: the outbox report, the mentoring report, certificate verification, the
audit log."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.engine import utcnow
from bot.model import PersonId
from bot.ports import DueFailure, OutboxRow, UnitOfWork
from bot.records import Audit
from flows.mentoring.cases import ReportRow, report
from flows.path.records import Certificate, RevokeCertificate
from services.store import maintenance_store
from storage.repository import SqlStore


async def outbox_report(config: Config) -> tuple[dict[str, int], list[OutboxRow]]:
    """Counts of outbox rows by status, and the dead letters (newest last)."""
    async with maintenance_store(config) as store:
        return await store.outbox_counts(), await store.dead_letters()


async def due_dead_letters(config: Config) -> list[DueFailure]:
    """Due work that failed `flows.due_max_attempts` times and is never run again (oldest
    first)."""
    async with maintenance_store(config) as store:
        return list((await store.due_failures(dead_only=True)).values())


async def mentoring_report(config: Config, since: datetime | None = None,
                           until: datetime | None = None) -> dict[str, list[ReportRow]]:
    """Help requests per project and per mentor: counts, escalations, median times; only
    requests opened in [since, until) when given."""
    async with maintenance_store(config) as store:
        cases = [c for c in await store.all_cases()
                 if (since is None or c.created_at >= since)
                 and (until is None or c.created_at < until)]
        levelled = {lv.identity_key for lv in await store.levelups("approved")}
    mentors = report(cases, "mentor")
    # Mentors who levelled up from newcomers (flows/levelup), apart from the others, each
    # listed even before their first request.
    grown = [r for r in mentors if r.group in levelled]
    grown += [ReportRow(key, 0, 0, 0, 0, None, None)
              for key in sorted(levelled - {r.group for r in grown})]
    return {"project": report(cases, "project"),
            "mentor": [r for r in mentors if r.group not in levelled],
            "levelled-up": sorted(grown, key=lambda r: r.group)}


async def verify_certificate(config: Config, code: str) -> Certificate | None:
    async with maintenance_store(config) as store:
        return await store.certificate(code)


async def revoke_certificate(config: Config, code: str, reason: str,
                             by: str) -> Certificate | None:
    """Mark the certificate revoked, with the reason, audited as `certificate_revoke` by
    `by`; returns it as it was (None: no such code). Revoking a revoked one changes nothing."""
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.start()
    try:
        found = await store.certificate(code)
        if found is None or found.revoked_at is not None:
            return found
        now = utcnow()
        await store.commit(UnitOfWork(PersonId(0), records=[
            RevokeCertificate(found.code, reason, by, now),
            Audit(by, "certificate_revoke", f"{found.code} {reason}"[:1000], now)]))
        return found
    finally:
        await store.close()


async def audit_log(config: Config, who: str = "", action: str = "",
                    since: datetime | None = None, limit: int = 50) -> list[Audit]:
    """Who did (or was refused) what, when: the newest `limit` entries, oldest first."""
    async with maintenance_store(config) as store:
        return await store.audit_entries(who, action, since, limit)
