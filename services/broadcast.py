"""Use cases of `wayfinder broadcast`: preview, confirm (schedule and fan out), delivery counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config, ConfigError
from bot.content import Content
from bot.engine import utcnow
from bot.fields import zone
from bot.i18n import ENGLISH, Translator
from bot.model import PersonId
from bot.ports import UnitOfWork
from bot.records import Audit, Record
from bot.wiring import adapter_rates, load_content
from flows.events.broadcaster import Broadcaster
from flows.events.content import EventsContent
from flows.events.invites import audience_of, broadcast_plan, broadcast_records, preview_lines
from flows.events.records import Broadcast, DeliveryCounts, Event
from flows.events.settings import EventsConfig
from services.store import maintenance_store
from storage.repository import SqlStore


async def _find_event(store: SqlStore, content: Content, event_id: str) -> Event:
    event = content.of(EventsContent).events.get(event_id) or await store.event(event_id)
    if event is None:
        known = sorted({*content.of(EventsContent).events, *(e.id for e in await store.events())})
        raise ConfigError("broadcast", "EVENT", f"no event {event_id!r}; known: "
                          f"{', '.join(known) or 'none yet'}")
    return event


@dataclass(frozen=True)
class BroadcastPreview:
    event: Event
    send_at: datetime | None  # None: now
    lines: list[str]
    reach: int


async def broadcast_preview(config: Config, event_id: str, local_at: datetime | None,
                            including: tuple[str, ...] = ()) -> BroadcastPreview:
    """What `wayfinder broadcast` shows before asking. `local_at`: a wall time in the
    event's time zone, to send later."""
    content = load_content(config.content_path())
    async with maintenance_store(config) as store:
        return await preview_in(store, config, content, event_id, local_at, including)


async def preview_in(store: SqlStore, config: Config, content: Content, event_id: str,
                     local_at: datetime | None,
                     including: tuple[str, ...] = (),
                     tr: Translator = ENGLISH) -> BroadcastPreview:
    """`broadcast_preview` on an open store (the web's); its lines in `tr`'s language (the
    dashboard page's; English on the command line)."""
    event = await _find_event(store, content, event_id)
    counts = await store.audience_counts(audience_of(event, "invite", content, including))
    send_at = local_at.replace(tzinfo=zone(event.timezone)) if local_at else None
    if send_at is not None and send_at <= utcnow():
        raise ConfigError("broadcast", "--at", "that time is in the past")
    lines = preview_lines(event, counts, content, config, adapter_rates((), config), utcnow(),
                          send_at, including, tr)
    return BroadcastPreview(event, send_at, lines, sum(n for _net, _reg, n in counts))


async def broadcast_now(config: Config, event: Event, send_at: datetime | None,
                        by: str, including: tuple[str, ...] = ()) -> tuple[Broadcast, int]:
    """Schedule the invite (and its reminders); if it is due, fan it out into the outbox
    here, where the running bot's dispatcher picks it up. Returns the invite broadcast and
    how many messages were queued now."""
    content = load_content(config.content_path())
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.start()
    try:
        return await broadcast_in(store, config, content, event, send_at, by, including)
    finally:
        await store.close()


async def broadcast_in(store: SqlStore, config: Config, content: Content, event: Event,
                       send_at: datetime | None, by: str, including: tuple[str, ...] = (),
                       poke: Callable[[], None] = lambda: None,
                       action: str = "broadcast") -> tuple[Broadcast, int]:
    """`broadcast_now` on a started store (the web's); `poke` tells a dispatcher in this
    process that there is something to send."""
    now = utcnow()
    records: list[Record] = list(broadcast_records(event, config, send_at or now, by, now,
                                                   including))
    records.append(Audit(by, action, event.id, now))
    await store.commit(UnitOfWork(PersonId(0), records=records))
    invite = [b for b in await store.broadcasts_of(event.id) if b.kind == "invite"][-1]
    broadcaster = Broadcaster(store, broadcast_plan(store, content, config),
                              config.settings_of(EventsConfig).fan_out_batch, poke, utcnow)
    queued = await broadcaster.run_due()
    return invite, queued


async def delivery_of(config: Config, broadcast_id: int) -> DeliveryCounts:
    async with maintenance_store(config) as store:
        return await store.delivery_counts(broadcast_id)
