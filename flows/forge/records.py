"""The forge feature's records: a change followed until it is merged or abandoned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class Watch:
    """A change someone named with `!done LINK`, checked again while it is open."""

    person_id: PersonId
    task_id: str
    project_id: str
    link: str
    holder: str  # the identity key that sent the link (for the certificate)
    status: str  # "watching", "merged", "abandoned", "referred", "dropped"
    failures: int  # checks in a row the forge could not answer
    created_at: datetime
    next_check_at: datetime | None


@dataclass(frozen=True)
class WatchChange(Record):
    """Follow this change for the person (replacing the change they named before)."""

    person_id: PersonId
    task_id: str
    project_id: str
    link: str
    holder: str
    at: datetime
    next_check_at: datetime


@dataclass(frozen=True)
class CheckAgain(Record):
    """Checked and still open (failures 0), or the forge could not answer (failures > 0)."""

    person_id: PersonId
    link: str
    failures: int
    next_check_at: datetime


@dataclass(frozen=True)
class EndWatch(Record):
    """Stop following: "merged", "abandoned", "referred" (to a mentor) or "dropped"."""

    person_id: PersonId
    link: str
    outcome: str


# -- linked forge accounts and their contributor metrics ------------------------------------
METRICS = ("merged", "reviews", "closed")  # changes merged, reviews given, tasks closed
WINDOWS = (4, 52)  # weeks


@dataclass(frozen=True)
class ForgeLink:
    """A person's account on a configured forge (`!forge github NAME`), verified once the
    code was found in their profile; with the numbers last read from the forge (None: never
    read, or the forge has no such thing, e.g. Gerrit's tasks)."""

    person_id: PersonId
    forge: str  # the forge's name in config
    kind: str
    username: str
    code: str  # what they put in their profile to prove the account is theirs
    created_at: datetime
    verified_at: datetime | None
    counts: dict[str, int | None]  # "merged_4", "merged_52", "reviews_4", ... -> count
    metrics_at: datetime | None
    metrics_next_at: datetime | None
    metrics_error: str

    def count(self, metric: str, weeks: int) -> int | None:
        return self.counts.get(f"{metric}_{weeks}")


@dataclass(frozen=True)
class LinkForge(Record):
    """Link (or link again, unverified, with a new code) the person's account on a forge."""

    person_id: PersonId
    forge: str
    kind: str
    username: str
    code: str
    at: datetime


@dataclass(frozen=True)
class VerifyForge(Record):
    """The code was found on the forge: the link is theirs; its numbers are read next tick."""

    person_id: PersonId
    forge: str
    username: str
    at: datetime


@dataclass(frozen=True)
class UnlinkForge(Record):
    person_id: PersonId
    forge: str


@dataclass(frozen=True)
class ForgeMetrics(Record):
    """What the forge said of the account (counts None: keep the last good ones, `error`
    says why), and when to ask again."""

    person_id: PersonId
    forge: str
    username: str
    counts: dict[str, int | None] | None
    at: datetime
    next_at: datetime
    error: str = ""
