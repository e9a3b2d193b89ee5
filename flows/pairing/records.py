"""The pairing feature's records: who may be paired (a projection of the state), and the
introductions made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import Identity, PersonId
from bot.records import Record

__all__ = ["Candidate", "PairStanding", "Paired"]


@dataclass(frozen=True)
class PairStanding(Record):
    """Who may be paired, projected from a person's state when a turn commits
    (Feature.project): their project, whether they agreed, the network to reach them on."""

    person_id: PersonId
    project: str = ""
    pair: bool = False
    reach: str = ""


@dataclass(frozen=True)
class Paired(Record):
    """Two newcomers of a project were introduced to each other."""

    project: str
    first: PersonId
    second: PersonId
    at: datetime


@dataclass(frozen=True)
class Candidate:
    """Someone who agreed to pair and had no new partner for a week."""

    person_id: PersonId
    project: str
    identity: Identity  # on the network they last used
    partners: frozenset[PersonId]  # introduced before: never again
