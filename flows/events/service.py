"""The events feature's background work: the broadcaster, run on every tick and kicked when a
turn schedules a broadcast that is already due (Feature.services)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config import Config
from bot.feature import FeatureService, ServiceContext
from bot.outbox import DeferUntil
from bot.records import Record
from flows.events.broadcaster import Broadcaster
from flows.events.invites import broadcast_plan
from flows.events.records import Audience, Broadcast, Compose, ScheduleBroadcast
from flows.events.settings import EventsConfig


def quiet_hours(config: Config) -> DeferUntil | None:
    """Invites wait out the recipient's configured quiet hours (Feature.defer)."""
    quiet = config.settings_of(EventsConfig).quiet
    return quiet.until if quiet else None


class BroadcastService(FeatureService):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.broadcaster = Broadcaster(
            context.store, self._plan, context.config.settings_of(EventsConfig).fan_out_batch,
            context.poke, context.clock, context.config.flows.due_max_attempts)

    async def _plan(self, broadcast: Broadcast, now: datetime
                    ) -> tuple[Audience, Compose] | None:
        # The content of this moment: an event file added or changed since the start counts.
        context = self.context
        return await broadcast_plan(context.store, context.content(), context.config)(
            broadcast, now)

    async def tick(self) -> int:
        return await self.broadcaster.run_due()

    def after_records(self, records: Sequence[Record]) -> None:
        # The clock is read only when a broadcast was scheduled (every committed turn with
        # records comes here, and almost none schedules one).
        due = [r.send_at for r in records if isinstance(r, ScheduleBroadcast)]
        if due and min(due) <= self.context.clock():
            self.broadcaster.kick()

    async def stop(self) -> None:
        await self.broadcaster.stop()
