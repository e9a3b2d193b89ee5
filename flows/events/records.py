"""The events feature's records: events created in chat, broadcasts of their invites and
reminders, and the answers people give."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.model import Identity, Outbound, PersonId
from bot.records import Record

__all__ = [
    "Audience",
    "Broadcast",
    "BuddyNeed",
    "CancelBroadcast",
    "CheckIn",
    "Compose",
    "CreateEvent",
    "DeliveryCounts",
    "Event",
    "FollowUp",
    "FollowedUp",
    "Frame",
    "JoinInviteList",
    "LeaveInviteList",
    "PairBuddy",
    "Recipient",
    "ScheduleBroadcast",
    "SetBuddy",
    "SetCheckinCode",
    "SetFeedback",
    "SetRsvp",
]


@dataclass(frozen=True)
class Event:
    """A meetup, hackathon or conference organizers invite newcomers to."""

    id: str
    title: str
    starts_at: datetime  # UTC
    timezone: str  # where it happens: times are shown in it, reminders count its days
    place: str
    regions: tuple[str, ...]
    audience: str
    capacity: int | None = None
    reminders: tuple[str, ...] = ()  # durations before the start, e.g. ("1d",)
    created_by: str = ""
    source: str = "chat"  # "chat" or the content file
    kind: str = "meetup"  # content.KINDS: a project's "meeting" or "sprint", ...
    project: str = ""  # a project's meeting or sprint: invites those working on it
    workshop: str = ""  # a "workshop-session": invites those at that workshop or about to start

    @property
    def linked(self) -> bool:
        """Whether it is for the people of a project or a workshop, wherever they are."""
        return bool(self.project or self.workshop)


@dataclass(frozen=True)
class CreateEvent(Record):
    """Fails the unit with a conflict if the id is taken."""

    event: Event
    at: datetime


@dataclass(frozen=True)
class UpdateEvent(Record):
    """An event made in chat or on the web, changed (a content file's is edited in its
    file); fails (stale) if it is not there."""

    event: Event
    at: datetime


@dataclass(frozen=True)
class Frame:
    """The words around a list message's text: message ids (marked with N_) the broadcaster
    words in each member's language, their `{name}` fields filled from `values` (a content
    text among them may carry translations). The text itself goes as it was written."""

    before: str = ""
    after: str = ""
    values: tuple[tuple[str, str], ...] = ()


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
    including: tuple[str, ...] = ()  # answers invited again (an invite skips those who answered)
    message: str = ""  # kind "message": the text sent to an invite list's members
    frame: Frame | None = None  # kind "message": the words around it, in each member's language


@dataclass(frozen=True)
class ScheduleBroadcast(Record):
    """Send `kind` for the event at `send_at` (now: at the next scan, moments away)."""

    event_id: str
    kind: str
    send_at: datetime
    created_by: str
    at: datetime
    including: tuple[str, ...] = ()  # answers to invite again ("maybe"), else none of them
    message: str = ""  # kind "message": the text for an invite list (event_id names the list)
    frame: Frame | None = None  # and the words around it, worded for each member


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


@dataclass(frozen=True)
class JoinInviteList(Record):
    """Put a person on an invite list other than a region's (e.g. a local group's, "group:ID"):
    they asked to be, which is their consent to its messages."""

    list_key: str
    person_id: PersonId
    at: datetime


@dataclass(frozen=True)
class LeaveInviteList(Record):
    list_key: str
    person_id: PersonId


@dataclass(frozen=True)
class Standing(Record):
    """What audiences select on, projected from a person's state when a turn commits
    (Feature.project); written to person_standing only when it changed."""

    person_id: PersonId
    region: str = ""
    timezone: str = ""
    invites: bool = False  # consented to event invites and has not left
    milestone: int = 0  # how far along the growth path (content.AUDIENCES)
    reach: str = ""  # the network invites go to
    project: str = ""  # the project they work on (chosen, and not left)
    workshop: str = ""  # the workshop they are at or about to start ("" once done)
    # The language they chose or their client names (Turn.stated_locale): invites and
    # reminders are worded in it; "" for the community's default.
    locale: str = ""


@dataclass(frozen=True)
class Audience:
    """Who an event broadcast reaches: consenting people in these regions (children
    included, already expanded), at least this far along."""

    regions: tuple[str, ...]
    min_milestone: int = 0
    event_id: str = ""  # skip people already invited to this event, or who answered it
    rsvp: str = ""  # reminders: only people who answered this
    including: tuple[str, ...] = ()  # invites: people who answered one of these, again
    project: str = ""  # only people working on this project
    workshop: str = ""  # only people at this workshop or about to start it
    # An invite list's members (their joining is their consent), instead of the regions.
    members: str = ""


@dataclass(frozen=True)
class Recipient:
    person_id: PersonId
    identity: Identity
    region: str
    timezone: str
    locale: str = ""  # their stated language (Standing.locale); "" for the default


@dataclass(frozen=True)
class DeliveryCounts:
    """Where one broadcast's messages are: by outbox status, and why the failed ones failed."""

    by_status: dict[str, int]
    resent: dict[str, int]  # per network: sent again after a restart (duplicates possible)
    failures: tuple[tuple[str, int], ...]  # (reason, count), most common first

    def count(self, status: str) -> int:
        return self.by_status.get(status, 0)


# One recipient's message for a broadcast, and the time it must wait for (quiet hours).
# The third: the data the dispatcher's deferral (quiet hours, in the recipient's time zone)
# checks again when the message goes; empty: none.
Compose = Callable[["Recipient"], "tuple[Outbound, datetime | None, str]"]


# -- attendance: check-in at the venue, the next day's follow-up, feedback ----------------------
@dataclass(frozen=True)
class SetCheckinCode(Record):
    """The code shown at the venue that people say to the bot (`!checkin CODE`)."""

    event_id: str
    code: str
    by: str
    at: datetime


@dataclass(frozen=True)
class CheckIn(Record):
    """Someone was there: attendance, which counts in merit and travel reports."""

    event_id: str
    person_id: PersonId
    kind: str  # the event's kind, as it was
    at: datetime
    follow_up_at: datetime  # the next day's thanks, next steps and feedback question


@dataclass(frozen=True)
class FollowedUp(Record):
    event_id: str
    person_id: PersonId


@dataclass(frozen=True)
class SetFeedback(Record):
    event_id: str
    person_id: PersonId
    rating: int  # 1-5
    comment: str


@dataclass(frozen=True)
class FollowUp:
    """An attendance whose follow-up is due, and where the person is reached privately."""

    event_id: str
    person_id: PersonId
    identity: Identity


# -- buddies: first-timers at face-to-face events ---------------------------------------------
@dataclass(frozen=True)
class SetBuddy(Record):
    """Someone's part in an event's buddies: "volunteer" (been to one before, offers to
    accompany a first-timer), "newcomer" (a first-timer who said yes: paired at `pair_at`,
    a week before the start); `on` False takes them out."""

    event_id: str
    person_id: PersonId
    role: str
    on: bool
    pair_at: datetime | None = None
    starts_at: datetime | None = None


@dataclass(frozen=True)
class PairBuddy(Record):
    event_id: str
    newcomer: PersonId
    buddy: PersonId
    at: datetime


@dataclass(frozen=True)
class BuddyNeed:
    """A first-timer due to be paired, with the event's volunteers (who still say yes) and
    how many first-timers each has already; identities to reach each of them privately."""

    event_id: str
    person_id: PersonId
    identity: Identity
    volunteers: tuple[tuple[PersonId, Identity, int], ...]
