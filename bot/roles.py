"""Who may do what: admins and organizers from config; other roles
from the feature that grants them, out of its content and records.

Roles bind to verified identities only: a nick without a services account, or anyone a
network cannot vouch for, holds no role whatever name it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import count
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from bot.caches import remember
from bot.config import RolesConfig
from bot.content import Content
from bot.model import ExternalId, Identity, Network
from bot.records import Record

P = ParamSpec("P")
T = TypeVar("T")
ANSWERS_KEPT = 4096  # answers a directory remembers (Directory.remembered)
# Directory.version: one count for all directories, so no two states of the roles, of one
# directory or of two (reloaded content), share a number.
_VERSIONS = count(1)


class RoleIndex(Protocol):
    """Who holds one role a feature grants, for one version of the content."""

    def holds(self, identity_key: str) -> bool: ...


class RoleGrants(Protocol):
    """One role a feature grants, in one running bot: its holders come from the content and
    from the grants the feature's own records made (loaded at the start, learned as its
    records commit). The feature keeps those grants; the core only asks."""

    async def load(self, reads: object) -> None:
        """The grants recorded so far, from the store."""

    def learn(self, records: Sequence[Record]) -> bool:
        """Take note of committed records; True if that changed who holds the role."""

    def index(self, content: Content) -> RoleIndex:
        """Who holds the role, for this version of the content."""


# What a feature declares for a role it grants (Feature.roles): fresh grants for each bot.
RoleSource = Callable[[], RoleGrants]


@dataclass(frozen=True)
class ContentRole:
    """A role whose holders come from the content alone (no records grant it)."""

    build: Callable[[Content], RoleIndex]

    def __call__(self) -> ContentRole:
        return self

    async def load(self, reads: object) -> None:
        return None

    def learn(self, records: Sequence[Record]) -> bool:
        return False

    def index(self, content: Content) -> RoleIndex:
        return self.build(content)


class _Nobody:
    def holds(self, identity_key: str) -> bool:
        return False


@dataclass
class Directory:
    """Admins and organizers from config; every other role is asked of the feature that
    grants it."""

    roles: RolesConfig
    content: Content
    grants: Mapping[str, RoleGrants] = field(default_factory=dict)
    _cache: dict[str, RoleIndex] = field(default_factory=dict, init=False, repr=False)
    # Answers worked out of the roles (`remembered`), forgotten whenever a role's holders may
    # have changed (grants loaded or learned); reloaded content makes another directory.
    _answers: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)
    # Which state of the roles it answers from: a new number whenever its answers are
    # forgotten (load, learn), never one another directory had. What a turn made of someone's
    # roles stays right while it is the same (Feature.project_inputs, sender).
    version: int = field(default_factory=lambda: next(_VERSIONS), init=False, compare=False)

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
        """The role's index, rebuilt after a grant was recorded (an admin granted it)."""
        index = self._cache.get(role)
        if index is None:
            grants = self.grants.get(role)
            index = self._cache[role] = grants.index(self.content) if grants else _Nobody()
        return index

    async def load(self, reads: object) -> None:
        """Each granting feature's grants recorded so far."""
        for grants in self.grants.values():
            await grants.load(reads)
        self._cache.clear()
        self._forget_answers()

    def learn(self, records: Sequence[Record]) -> None:
        """Committed records: the features that grant roles take note of theirs."""
        for role, grants in self.grants.items():
            if grants.learn(records):
                self._cache.pop(role, None)
                self._forget_answers()

    def _forget_answers(self) -> None:
        self._answers.clear()
        self.version = next(_VERSIONS)

    def remembered(self, key: Hashable, work: Callable[P, T], *args: P.args,
                   **kwargs: P.kwargs) -> T:
        """What `work(*args)` says, asked once while the roles stay as they are: for an answer
        asked on every turn (the digest's readers: ~0.4 us a turn less than asking again).
        At most ANSWERS_KEPT, the oldest dropped first."""
        try:
            return cast(T, self._answers[key])
        except KeyError:
            found = work(*args, **kwargs)
            remember(self._answers, key, found, ANSWERS_KEPT)
            return found

    def with_content(self, content: Content) -> Directory:
        """The same roles and grants over reloaded content."""
        return Directory(self.roles, content, self.grants)
