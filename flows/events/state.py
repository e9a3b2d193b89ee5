"""What the events feature keeps about a person (stored under "events" in their state)."""

from __future__ import annotations

from typing import ClassVar

from bot.flow import FeatureState


class Preview(FeatureState):
    event: str
    send_at: str = ""  # ISO time; "" sends on confirm
    including: tuple[str, ...] = ()  # answers whose people are invited again


class EventsState(FeatureState):
    namespace: ClassVar[str] = "events"

    region: str = ""
    invites: bool = False  # consented to invites
    timezone: str = ""  # "" uses the region's
    broadcast_preview: Preview | None = None  # an organizer's preview awaiting !broadcast confirm
