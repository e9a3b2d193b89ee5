"""What other features may use of events (and nothing else in flows/events): its content
(regions) and a person's events state (the region they chose)."""

from __future__ import annotations

from flows.events.content import EventsContent
from flows.events.state import EventsState

__all__ = ["EventsContent", "EventsState"]
