"""Local groups' content: one file per group (content/groups/<id>.toml) with its region, its
channels on each network, its contacts (who organizes it), its partner organisations and when
it meets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field, field_validator

from bot.content import ID_PATTERN, ContentFolder, ContentPart, Strict, check_identities

NetworkName = Literal["irc", "matrix", "telegram", "console"]


class Partner(Strict):
    """An organisation the group works with (a university, a user group), with its link."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: Annotated[str, Field(min_length=1, max_length=500)]
    kind: Annotated[str, Field(max_length=60)] = ""  # "university", "user group", ...
    # Projects its people often start with (ids): discovery says so to newcomers near the
    # group ("Students of ... often start here").
    starts: tuple[Annotated[str, Field(pattern=ID_PATTERN)], ...] = ()

    @field_validator("url")
    @classmethod
    def _web_link(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value


class GroupFile(Strict):
    """content/groups/<id>.toml; the file name is the group's id."""

    name: Annotated[str, Field(min_length=1, max_length=120)]
    region: Annotated[str, Field(min_length=1)]  # a code from regions.toml
    summary: Annotated[str, Field(max_length=500)] = ""
    # When it meets, in words: "every second Tuesday, 19:00".
    rhythm: Annotated[str, Field(min_length=1, max_length=200)]
    channels: dict[NetworkName, Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        default_factory=dict)
    # Who organizes it: verified identities ("network:id"); they may message its members.
    contacts: Annotated[tuple[str, ...], Field(min_length=1)]
    partners: tuple[Partner, ...] = ()

    _contacts_are_identities = field_validator("contacts")(check_identities)


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    region: str
    summary: str
    rhythm: str
    channels: dict[str, str]
    contacts: tuple[str, ...]
    partners: tuple[Partner, ...]
    source: str  # the file, for messages to organizers


@dataclass(frozen=True)
class GroupsContent:
    groups: dict[str, Group] = field(default_factory=dict)

    def organized_by(self, identity_key: str) -> list[Group]:
        return [g for g in self.groups.values() if identity_key in g.contacts]


def _region_codes(folder: ContentFolder) -> set[str] | None:
    """The codes regions.toml declares (its own problems are the events part's to report);
    None when it cannot be read, so nothing is reported twice."""
    path = folder.root / "regions.toml"
    if not path.exists():
        return set()
    data = folder.read(path)
    if data is None:
        return None
    listed = data.get("regions", [])
    return {str(r.get("code")) for r in listed if isinstance(r, dict)} if isinstance(
        listed, list) else None


def load(folder: ContentFolder) -> GroupsContent:
    codes = _region_codes(folder)
    groups: dict[str, Group] = {}
    for path in folder.files("groups/*.toml"):
        data = folder.read(path)
        if data is None:
            continue
        rel = folder.rel(path)
        if not re.match(ID_PATTERN, path.stem):
            folder.problem(rel, "", "the file name is the group id: use lowercase letters, "
                           "digits, - and _")
            continue
        parsed = folder.validate(GroupFile, data, path)
        if parsed is None:
            continue
        if codes is not None and parsed.region not in codes:
            folder.problem(rel, "region", f"unknown region {parsed.region!r} (see regions.toml)")
            continue
        for n, partner in enumerate(parsed.partners):
            for m, project in enumerate(partner.starts):
                if not (folder.root / "projects" / f"{project}.toml").exists():
                    folder.problem(rel, f"partners[{n}].starts[{m}]",
                                   f"unknown project {project!r} (no projects/{project}.toml)")
        groups[path.stem] = Group(path.stem, parsed.name, parsed.region, parsed.summary,
                                  parsed.rhythm, {str(k): v for k, v in parsed.channels.items()},
                                  parsed.contacts,
                                  parsed.partners, rel)
    return GroupsContent(groups)


PART = ContentPart(GroupsContent, ("groups/*.toml",), load,
                   lambda content: f"{len(content.groups)} groups" if content.groups else "")
