"""Mentoring's content: how to reach each mentor and when they help (content/mentors.toml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from bot.content import ContentFolder, ContentPart, Strict, check_identities
from flows.mentoring.officehours import parse_hours


class MentorProfile(Strict):
    """How to reach one mentor: identities on one or more networks, and when they help."""

    identities: Annotated[tuple[str, ...], Field(min_length=1)]
    name: str = ""
    preferred: str = ""  # network for pings; empty: the first identity's network
    timezone: str = "UTC"
    hours: str = "always"  # e.g. "mon-fri 09:00-17:00, sat 10:00-12:00"
    capacity: Annotated[int, Field(ge=1, le=100)] = 3

    _identities_are_identities = field_validator("identities")(check_identities)

    @model_validator(mode="after")
    def _consistent(self) -> MentorProfile:
        networks = [i.split(":", 1)[0] for i in self.identities]
        if self.preferred and self.preferred not in networks:
            raise ValueError(f"preferred network {self.preferred!r} is not one of the "
                             f"mentor's identities ({', '.join(networks)})")
        parse_hours(self.hours, self.timezone)
        return self

    @property
    def key(self) -> str:
        return self.identities[0]

    @property
    def display(self) -> str:
        return self.name or self.key


class MentorsFile(Strict):
    mentors: tuple[MentorProfile, ...] = ()


@dataclass(frozen=True)
class MentoringContent:
    mentor_profiles: tuple[MentorProfile, ...] = ()
    # Each identity's profile, found once per content version: a project card names its
    # mentors on every suggestion, and a bare identity's profile is validated anew each time.
    _found: dict[str, MentorProfile] = field(default_factory=dict, init=False, repr=False,
                                             compare=False)

    def mentor_profile(self, identity_key: str) -> MentorProfile:
        """The profile holding this identity; a bare identity gets the defaults."""
        found = self._found.get(identity_key)
        if found is None:
            found = next((p for p in self.mentor_profiles if identity_key in p.identities),
                         None) or MentorProfile(identities=(identity_key,))
            if len(self._found) < 10_000:  # identities typed by people are not kept forever
                self._found[identity_key] = found
        return found


def load(folder: ContentFolder) -> MentoringContent:
    path = folder.root / "mentors.toml"
    if not path.exists():
        return MentoringContent()
    data = folder.read(path)
    mentors = folder.validate(MentorsFile, data, path) if data else None
    if mentors is None:
        return MentoringContent()
    owner: dict[str, int] = {}
    for index, profile in enumerate(mentors.mentors):
        for identity in profile.identities:
            if identity in owner:
                folder.problem(folder.rel(path), f"mentors[{index}].identities",
                               f"{identity!r} is also in mentors[{owner[identity]}]")
            owner[identity] = index
    return MentoringContent(mentors.mentors)


PART = ContentPart(MentoringContent, ("mentors.toml",), load,
                   lambda content: f"{len(content.mentor_profiles)} mentor profiles"
                   if content.mentor_profiles else "")
