"""The digest feature's records: who receives a digest (a projection of each turn: the
person's verified identity holding the mentor or organizer role) and the week last sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class Reader(Record):
    """Projected from a turn (Feature.project): `roles` empty removes them."""

    person_id: PersonId
    identity_key: str = ""  # the verified identity that holds the roles (digests go there)
    roles: str = ""  # "mentor", "organizer" or "mentor,organizer"


@dataclass(frozen=True)
class DigestSent(Record):
    person_id: PersonId
    week: datetime  # the slot (the configured day and hour) it was sent for


@dataclass(frozen=True)
class Recipient:
    person_id: PersonId
    identity_key: str
    roles: tuple[str, ...]
    sent_week: datetime | None
