"""Who may do what: admins and organizers from config; other roles (a project's mentors)
from the feature that grants them, out of its content and records.

Roles bind to verified identities only: a nick without a services account, or anyone a
network cannot vouch for, holds no role whatever name it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from typing import Protocol

from bot.config import RolesConfig
from bot.content import Content
from bot.model import ExternalId, Identity, Network


class RoleIndex(Protocol):
    """Who holds one role a feature grants, for one version of the content."""

    def holds(self, identity_key: str) -> bool: ...


# Builds a role's index from the content and the grants recorded since the start, as
# (scope, identity key) pairs (a project and its mentor).
RoleIndexBuilder = Callable[[Content, Set[tuple[str, str]]], RoleIndex]


class _Nobody:
    def holds(self, identity_key: str) -> bool:
        return False


@dataclass
class Directory:
    roles: RolesConfig
    content: Content
    assignments: set[tuple[str, str]] = field(default_factory=set)
    builders: Mapping[str, RoleIndexBuilder] = field(default_factory=dict)
    _cache: dict[str, tuple[int, RoleIndex]] = field(default_factory=dict, init=False,
                                                     repr=False)

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

    def holds(self, role: str, identity: Identity) -> bool:
        """Whether this (verified) identity holds a role a feature grants."""
        key = self._verified_key(identity)
        return key is not None and self.index(role).holds(key)

    def index(self, role: str) -> RoleIndex:
        """The role's index, rebuilt when a grant was recorded (an admin adds a mentor)."""
        cached = self._cache.get(role)
        if cached is None or cached[0] != len(self.assignments):
            builder = self.builders.get(role)
            index = builder(self.content, self.assignments) if builder else _Nobody()
            cached = self._cache[role] = (len(self.assignments), index)
        return cached[1]

    def with_content(self, content: Content) -> Directory:
        """The same roles and grants over reloaded content."""
        return Directory(self.roles, content, self.assignments, self.builders)
