"""The events feature's records: events created in chat, broadcasts of their invites and
reminders, and the answers people give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.content import Event
from bot.model import PersonId
from bot.records import Record

__all__ = ["Broadcast", "CancelBroadcast", "CreateEvent", "Event", "ScheduleBroadcast", "SetRsvp"]


@dataclass(frozen=True)
class CreateEvent(Record):
    """Fails the unit with a conflict if the id is taken."""

    event: Event
    at: datetime


@dataclass(frozen=True)
class Broadcast:
    id: int
    event_id: str
    kind: str  # "invite" or "reminder"
    status: str  # "scheduled", "sending", "done", "cancelled"
    send_at: datetime
    cursor: int
    recipients: int
    created_by: str
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class ScheduleBroadcast(Record):
    """Send `kind` for the event at `send_at` (now: at the next scan, moments away)."""

    event_id: str
    kind: str
    send_at: datetime
    created_by: str
    at: datetime


@dataclass(frozen=True)
class CancelBroadcast(Record):
    """Cancel what is scheduled for the event and not yet sending."""

    event_id: str


@dataclass(frozen=True)
class SetRsvp(Record):
    event_id: str
    person_id: PersonId
    answer: str  # "yes", "no", "maybe"
    at: datetime

