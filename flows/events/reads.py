"""What the events feature reads from the store, and what its broadcaster needs of it.

Handlers get these through `reads_of(turn.reads)`: the composition root checks statically that
its store has them (bot/app.py), and this checks the store at hand when asked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads, Store, conforms
from flows.events.records import (
    Audience,
    Broadcast,
    BuddyNeed,
    Compose,
    DeliveryCounts,
    Event,
    FollowUp,
)


@runtime_checkable
class EventsReads(Reads, Protocol):
    """The events handlers' reads."""

    async def event(self, event_id: str) -> Event | None: ...

    async def events(self) -> list[Event]: ...

    async def audience_counts(self, audience: Audience) -> list[tuple[str, str, int]]:
        """(network, region, people) for everyone the audience reaches now."""

    async def rsvp_of(self, event_id: str, person_id: PersonId) -> str | None: ...

    async def invite_lists_of(self, person_id: PersonId) -> list[str]:
        """The invite lists (other than regions) the person joined, e.g. "group:berlin"."""

    async def invite_list_size(self, list_key: str) -> int: ...

    async def invited_to(self, event_id: str, person_id: PersonId) -> bool:
        """Whether an invite broadcast of this event queued a message to this person."""

    async def rsvp_counts(self, event_id: str) -> list[tuple[str, str, int]]:
        """(region, answer, people)."""

    async def rsvp_list(self, event_id: str) -> list[tuple[PersonId, str, str, int, str]]:
        """(person, answer, region, milestone, identities joined by spaces) per answer."""

    async def broadcasts_of(self, event_id: str) -> list[Broadcast]: ...

    async def checkin_code(self, event_id: str) -> str | None:
        """The code shown at the event's venue, if one was made."""

    async def event_of_code(self, code: str) -> str | None:
        """The event a check-in code is for."""

    async def attended(self, event_id: str, person_id: PersonId) -> bool: ...

    async def attendance_count(self, event_id: str) -> int: ...

    async def event_feedback(self, event_id: str) -> list[tuple[int, str]]:
        """(rating 1-5, comment) of each attendee who answered the follow-up, oldest first."""

    async def attendance_of(self, person_id: PersonId) -> int:
        """How many events the person checked in at."""

    async def buddy_role(self, event_id: str, person_id: PersonId) -> str | None: ...

    async def buddy_needs(self, now: datetime, limit: int = 200) -> list[BuddyNeed]:
        """First-timers due to be paired (still saying yes), with their event's volunteers."""

    async def buddy_pairs(self, event_id: str) -> list[tuple[str, str]]:
        """(first-timer, buddy) identity keys ("" while none), then ("", free volunteer)."""

    async def due_follow_ups(self, now: datetime, limit: int = 200) -> list[FollowUp]:
        """Attendances whose next-day follow-up is due (at most a week late), with the
        identity to reach each person privately."""

    async def delivery_counts(self, broadcast_id: int) -> DeliveryCounts: ...


class BroadcastStore(Store, Protocol):
    """The broadcaster's: due broadcasts, their fan-out into the outbox, their end."""

    async def due_broadcasts(self, now: datetime) -> list[Broadcast]: ...

    async def close_broadcast(self, broadcast_id: int, status: str) -> None: ...

    async def fan_out(self, broadcast: Broadcast, audience: Audience, compose: Compose,
                      limit: int) -> int:
        """Queue the next `limit` recipients' messages after the broadcast's cursor, and move
        the cursor, in one transaction; 0 when everyone has been reached (the broadcast is
        then done)."""


def reads_of(reads: Reads) -> EventsReads:
    """The store behind a turn (or a due scan), as the events feature reads it."""
    if not conforms(reads, EventsReads):
        raise TypeError(f"{type(reads).__name__} lacks the events feature's reads")
    return cast(EventsReads, reads)
