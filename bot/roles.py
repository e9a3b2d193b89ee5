"""Who may do what: admins and organizers from config, mentors from content (and admins).

Roles bind to verified identities only: a nick without a services account, or anyone a
network cannot vouch for, holds no role whatever name it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.config import RolesConfig
from bot.content import Content, MentorProfile
from bot.model import ExternalId, Identity, Network
from bot.officehours import OfficeHours, parse_hours


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
        ordered = sorted(identities, key=lambda i: (i[0] != preferred, i[0] not in running))
        network, external = ordered[0]
        return Identity(Network(network), ExternalId(external), True)

    def reachable(self, networks: Iterable[str]) -> bool:
        running = set(networks)
        return any(i.split(":", 1)[0] in running for i in self.profile.identities)

    def available(self, now: datetime, state: Away | None, load: int) -> bool:
        away = state is not None and state.away_until is not None and state.away_until > now
        return not away and load < self.profile.capacity and self.hours.is_open(now)


@dataclass
class Directory:
    roles: RolesConfig
    content: Content
    assignments: set[tuple[str, str]] = field(default_factory=set)
    _cache: tuple[int, dict[str, list[Mentor]], dict[str, Mentor]] | None = field(
        default=None, init=False, repr=False)

    def _verified_key(self, identity: Identity) -> str | None:
        return identity.key if identity.verified else None

    def is_admin(self, identity: Identity) -> bool:
        return self._verified_key(identity) in self.roles.admins

    def is_organizer(self, identity: Identity) -> bool:
        key = self._verified_key(identity)
        return key is not None and (key in self.roles.organizers or key in self.roles.admins)

    def organizer_identities(self) -> list[Identity]:
        out = []
        for key in dict.fromkeys([*self.roles.organizers, *self.roles.admins]):
            network, _, external = key.partition(":")
            out.append(Identity(Network(network), ExternalId(external), True))
        return out

    def mentor(self, key: str) -> Mentor:
        profile = self.content.mentor_profile(key)
        return Mentor(profile, parse_hours(profile.hours, profile.timezone))

    def mentors_of(self, project_id: str) -> list[Mentor]:
        return self._index()[0].get(project_id, [])

    def mentor_for(self, identity: Identity) -> Mentor | None:
        """The mentor this (verified) identity belongs to, on any project."""
        key = self._verified_key(identity)
        return None if key is None else self._index()[1].get(key)

    def _index(self) -> tuple[dict[str, list[Mentor]], dict[str, Mentor]]:
        """Mentors per project and per identity, rebuilt when an admin adds a mentor."""
        if self._cache is None or self._cache[0] != len(self.assignments):
            by_project: dict[str, list[Mentor]] = {}
            by_identity: dict[str, Mentor] = {}
            for project_id, project in self.content.projects.items():
                keys = [*project.mentors,
                        *(k for p, k in sorted(self.assignments) if p == project_id)]
                mentors: dict[str, Mentor] = {}
                for key in keys:
                    mentor = self.mentor(key)
                    mentors.setdefault(mentor.key, mentor)
                    for identity in mentor.profile.identities:
                        by_identity.setdefault(identity, mentor)
                by_project[project_id] = list(mentors.values())
            self._cache = (len(self.assignments), by_project, by_identity)
        return self._cache[1], self._cache[2]

    def projects_of(self, mentor: Mentor) -> list[str]:
        return [p for p in self.content.projects
                if any(m.key == mentor.key for m in self.mentors_of(p))]
