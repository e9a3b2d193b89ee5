"""Read models: the outbox report, the mentoring report, certificate verification, the
audit log."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from bot.ports import DueFailure, OutboxRow
from bot.records import Audit
from flows.mentoring.cases import ReportRow, report
from flows.path.records import Certificate
from services.store import maintenance_store


async def outbox_report(config: Config) -> tuple[dict[str, int], list[OutboxRow]]:
    """Counts of outbox rows by status, and the dead letters (newest last)."""
    async with maintenance_store(config) as store:
        return await store.outbox_counts(), await store.dead_letters()


async def due_dead_letters(config: Config) -> list[DueFailure]:
    """Due work that failed `flows.due_max_attempts` times and is never run again (oldest
    first)."""
    async with maintenance_store(config) as store:
        return list((await store.due_failures(dead_only=True)).values())


async def mentoring_report(config: Config) -> dict[str, list[ReportRow]]:
    """Help requests per project and per mentor: counts, escalations, median times."""
    async with maintenance_store(config) as store:
        cases = await store.all_cases()
    return {"project": report(cases, "project"), "mentor": report(cases, "mentor")}


async def verify_certificate(config: Config, code: str) -> Certificate | None:
    async with maintenance_store(config) as store:
        return await store.certificate(code)


async def audit_log(config: Config, who: str = "", action: str = "",
                    since: datetime | None = None, limit: int = 50) -> list[Audit]:
    """Who did (or was refused) what, when: the newest `limit` entries, oldest first."""
    async with maintenance_store(config) as store:
        return await store.audit_entries(who, action, since, limit)
