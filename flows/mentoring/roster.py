"""Who mentors which project: the projects' mentors in the content, mentors added with
`!mentor add`, each with their profile and office hours (the "mentor" role's index)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.content import Content, check_identities
from bot.flow import Turn
from bot.model import ExternalId, Identity, Network
from bot.records import Record
from flows.mentoring.content import MentoringContent, MentorProfile
from flows.mentoring.officehours import OfficeHours, parse_hours
from flows.mentoring.reads import assignments_of
from flows.mentoring.records import AddMentor, RemoveMentor, SetMentorHours
from flows.path.api import PathContent

ROLE = "mentor"
log = logging.getLogger(__name__)


class Away(Protocol):
    """A mentor's stored state, as far as availability goes (mentoring's MentorState)."""

    @property
    def away_until(self) -> datetime | None: ...


@dataclass(frozen=True)
class Mentor:
    profile: MentorProfile
    hours: OfficeHours

    @property
    def key(self) -> str:
        return self.profile.key

    @property
    def name(self) -> str:
        return self.profile.display

    def reach(self, networks: Iterable[str]) -> Identity:
        """Where to ping them: their preferred network if it runs here, else another one."""
        running = set(networks)
        identities = [i.split(":", 1) for i in self.profile.identities]
        preferred = self.profile.preferred or identities[0][0]
        ordered = sorted(identities, key=lambda i: (i[0] not in running, i[0] != preferred))
        network, external = ordered[0]
        return Identity(Network(network), ExternalId(external), True)

    def reach_all(self, networks: Iterable[str]) -> list[Identity]:
        """Every identity on a running network, the one `reach` picks first."""
        running = set(networks)
        first = self.reach(running)
        others = [Identity(Network(n), ExternalId(e), True)
                  for n, e in (i.split(":", 1) for i in self.profile.identities)
                  if n in running and (n, e) != (first.network, first.external_id)]
        return [first, *others]

    def reachable(self, networks: Iterable[str]) -> bool:
        running = set(networks)
        return any(i.split(":", 1)[0] in running for i in self.profile.identities)

    def available(self, now: datetime, state: Away | None, load: int) -> bool:
        away = state is not None and state.away_until is not None and state.away_until > now
        return not away and load < self.profile.capacity and self.hours.is_open(now)


class Roster:
    """Mentors per project and per identity, for one version of the content and grants."""

    def __init__(self, content: Content, assignments: Set[tuple[str, str]],
                 hours: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.profiles = content.of(MentoringContent)
        self.hours = dict(hours or {})  # set in chat (`!hours`): key -> (hours, time zone)
        self.projects = content.of(PathContent).projects
        self.by_project: dict[str, list[Mentor]] = {}
        self.by_identity: dict[str, Mentor] = {}
        usable = {(p, k) for p, k in assignments if _usable(p, k)}
        for project_id, project in self.projects.items():
            keys = [*project.mentors, *(k for p, k in sorted(usable) if p == project_id)]
            mentors: dict[str, Mentor] = {}
            for key in keys:
                mentor = self.mentor(key)
                mentors.setdefault(mentor.key, mentor)
                for identity in mentor.profile.identities:
                    self.by_identity.setdefault(identity, mentor)
            self.by_project[project_id] = list(mentors.values())

    def holds(self, identity_key: str) -> bool:
        return identity_key in self.by_identity

    def mentor(self, key: str) -> Mentor:
        profile = self.profiles.mentor_profile(key)
        own = self.hours.get(profile.key)
        if own is not None:  # checked when set; a zone this machine lost keeps the profile's
            try:
                return Mentor(profile.model_copy(update={"hours": own[0], "timezone": own[1]}),
                              parse_hours(own[0], own[1]))
            except ValueError:
                log.warning("skipping the office hours %s set for %s", own, profile.key)
        return Mentor(profile, parse_hours(profile.hours, profile.timezone))

    def mentors_of(self, project_id: str) -> list[Mentor]:
        return self.by_project.get(project_id, [])

    def mentor_for(self, identity: Identity) -> Mentor | None:
        """The mentor this (verified) identity belongs to, on any project."""
        return self.by_identity.get(identity.key) if identity.verified else None

    def projects_of(self, mentor: Mentor) -> list[str]:
        return [p for p in self.projects
                if any(m.key == mentor.key for m in self.mentors_of(p))]


_SKIPPED: set[tuple[str, str]] = set()  # said once per process, not on every index


def _usable(project_id: str, identity_key: str) -> bool:
    """Whether a stored `!mentor add` is a valid identity. One stored before it was checked
    ("IRC:Ana") is skipped with one log line, so it never breaks anyone else's turn."""
    try:
        check_identities((identity_key,))
    except ValueError as exc:
        if (project_id, identity_key) not in _SKIPPED:
            _SKIPPED.add((project_id, identity_key))
            log.warning("skipping the stored mentor %r of %s: %s; remove it with !mentor "
                        "remove %s %s", identity_key, project_id, exc, project_id, identity_key)
        return False
    return True


class MentorGrants:
    """The mentor role in one running bot: the mentors the content lists, and those an admin
    added (`!mentor add`: AddMentor records), loaded at the start and learned as they commit."""

    def __init__(self) -> None:
        self.assignments: set[tuple[str, str]] = set()  # (project, mentor's identity key)
        self.hours: dict[str, tuple[str, str]] = {}  # set in chat: key -> (hours, zone)

    async def load(self, reads: object) -> None:
        found = assignments_of(reads)
        self.assignments = set(await found.mentor_assignments())
        self.hours = await found.mentor_hours()

    def learn(self, records: Sequence[Record]) -> bool:
        before = frozenset(self.assignments)
        hours_before = dict(self.hours)
        for record in records:  # in commit order: an add then a remove leaves it removed
            if isinstance(record, SetMentorHours):
                self.hours[record.mentor_key] = (record.hours, record.timezone)
            elif isinstance(record, AddMentor):
                self.assignments.add((record.project_id, record.identity_key))
            elif isinstance(record, RemoveMentor):
                self.assignments.discard((record.project_id, record.identity_key))
            elif gone := record.erases():  # a mentor added in chat was forgotten
                self.assignments = {a for a in self.assignments if a[1] not in gone}
                self.hours = {k: v for k, v in self.hours.items() if k not in gone}
        return self.assignments != before or self.hours != hours_before

    def index(self, content: Content) -> Roster:
        return Roster(content, frozenset(self.assignments), dict(self.hours))


def roster(turn: Turn) -> Roster:
    """This turn's mentors (the content and grants the turn started with)."""
    index = turn.directory.index(ROLE)
    assert isinstance(index, Roster), "the mentoring feature builds the mentor role's index"
    return index
