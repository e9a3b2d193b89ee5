"""Isolation of due work: one failing item is counted, and after N failures set aside.

Each tick reads what failed before of the items it is about to run (by key, not the whole
table). An item that raises is logged with its key and its failure is counted durably; once
it has failed `max_attempts` times it is a dead letter (with its reason, listed by `wayfinder
outbox`) and is skipped by every later tick. Nothing about one item stops the others of its
tick. A failure of the store itself (locked, unreachable) is nobody's item's fault: it is not
counted, and the tick ends there (the next one tries again). Failures are forgotten when the
item succeeds, or `flows.due_dead_letter_days` after the last one (`prune`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from bot.ports import DueFailure, Store

log = logging.getLogger(__name__)


def reason_of(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:1000]


class DueLedger:
    def __init__(self, store: Store, max_attempts: int) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self._failed: dict[str, DueFailure] = {}

    async def load(self, keys: Collection[str]) -> None:
        """Read what failed before of `keys`, the items this tick is about to run."""
        if keys:
            self._failed.update(await self.store.due_failures(keys))

    def dead(self, key: str) -> bool:
        failure = self._failed.get(key)
        return failure is not None and failure.dead

    async def failed(self, key: str, exc: BaseException, at: datetime) -> None:
        """Log and count one failure of `key`; never raises (the tick goes on)."""
        try:
            failure = await self.store.due_failed(key, reason_of(exc), at, self.max_attempts)
        except Exception:
            log.exception("due work %s failed, and counting its failure failed too", key)
            return
        self._failed[key] = failure
        if failure.dead:
            log.error("due work %s failed %d times; it is a dead letter: %s", key,
                      failure.attempts, failure.last_error, exc_info=exc)
        else:
            log.error("due work %s failed (attempt %d of %d); the next scan tries again", key,
                      failure.attempts, self.max_attempts, exc_info=exc)

    async def succeeded(self, key: str) -> None:
        if self._failed.pop(key, None) is not None:
            try:
                await self.store.due_done(key)
            except Exception:
                log.exception("due work %s succeeded, but forgetting its failures failed", key)


async def prune(store: Store, now: datetime, days: float) -> None:
    """Forget failures last counted more than `days` ago (dead letters included); never
    raises (the next tick tries again)."""
    try:
        pruned = await store.due_prune(now - timedelta(days=days))
    except Exception:
        log.exception("forgetting due work failures older than %g days failed", days)
        return
    if pruned:
        log.info("forgot %d due work failures older than %g days", pruned, days)
