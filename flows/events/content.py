"""The events' content: regions (content/regions.toml) and events organizers write as files
(content/events/<id>.toml, also what `!event new` builds)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bot.content import ID_PATTERN, ContentFolder, ContentPart, Strict
from bot.fields import Duration, ZoneName, ZoneNameOrEmpty, zone
from bot.i18n import Localized
from flows.events.records import Event


class Region(Strict):
    code: Annotated[str, Field(pattern=ID_PATTERN)]
    name: Annotated[Localized, Field(min_length=1)]
    parent: str = ""
    timezone: ZoneNameOrEmpty = ""


class RegionsFile(Strict):
    regions: tuple[Region, ...] = ()


# Who an event is for, by how far along the growth path people are (milestones).
AUDIENCES = {
    "everyone": 0,  # everyone who consented to invites in the regions
    "project": 1,  # chose a project
    "workshop": 2,  # finished a workshop
    "first-task": 3,  # took a first task
    "involved": 4,  # made it through the first four steps (travel support goes to them)
}
TRAVEL_GRANT_MILESTONE = 4
# What an event is. A "meeting" or a "sprint" names its `project`, a "workshop-session" (a
# real-time session of a workshop) its `workshop`: those invite the people of that project or
# workshop wherever they are, instead of by region.
KINDS = ("meetup", "hackathon", "conference", "meeting", "sprint", "workshop-session")
Kind = Literal["meetup", "hackathon", "conference", "meeting", "sprint", "workshop-session"]
KIND_WORDS = {"meetup": "meetup", "hackathon": "hackathon", "conference": "conference",
              "meeting": "project meeting", "sprint": "sprint",
              "workshop-session": "live workshop session"}


class EventFile(Strict):
    """content/events/<id>.toml, also what `!event new` builds."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    starts: datetime  # local wall time where it happens (a TOML local date-time)
    timezone: ZoneName
    place: Annotated[str, Field(max_length=300)] = ""
    regions: tuple[str, ...] = ()  # required, unless it names a project or a workshop
    audience: Literal["everyone", "project", "workshop", "first-task", "involved"] = "everyone"
    capacity: Annotated[int | None, Field(ge=1)] = None
    reminders: tuple[Duration, ...] | None = None  # None: the config's [events] reminders
    kind: Kind = "meetup"
    project: Annotated[str, Field(pattern=ID_PATTERN + "|^$")] = ""  # a project's id
    workshop: Annotated[str, Field(pattern=ID_PATTERN + "|^$")] = ""  # a workshop's id

    @field_validator("starts", mode="before")
    @classmethod
    def _a_time_not_only_a_date(cls, value: object) -> object:
        day = value.isoformat() if isinstance(value, date) and not isinstance(
            value, datetime) else value.strip() if isinstance(value, str) else ""
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            raise ValueError(f"{day} is a date without a time; write when it starts, e.g. "
                             f"{day}T18:00:00")
        return value

    @model_validator(mode="after")
    def _a_time_that_happens_once(self) -> EventFile:
        wall_clock_problem(self.starts, self.timezone)
        return self

    @model_validator(mode="after")
    def _for_someone(self) -> EventFile:
        if self.kind in ("meeting", "sprint") and not self.project:
            raise ValueError(f"a {self.kind} names its project (project = \"ID\")")
        if self.kind == "workshop-session" and not self.workshop:
            raise ValueError("a workshop-session names its workshop (workshop = \"ID\")")
        if self.workshop and self.kind != "workshop-session":
            raise ValueError("only a workshop-session names a workshop")
        if not self.regions and not (self.project or self.workshop):
            raise ValueError("regions: name at least one (or a project or workshop it is for)")
        return self

    def to_event(self, event_id: str, source: str, created_by: str = "") -> Event:
        if self.starts.tzinfo is not None:  # an explicit offset says the instant itself
            starts = self.starts.astimezone(UTC)
        else:
            starts = self.starts.replace(tzinfo=zone(self.timezone)).astimezone(UTC)
        return Event(event_id, self.title, starts, self.timezone, self.place, self.regions,
                     self.audience, self.capacity,
                     self.reminders if self.reminders is not None else (), created_by, source,
                     self.kind, self.project, self.workshop)


def wall_clock_problem(starts: datetime, timezone: str) -> None:
    """Raise ValueError when a local time does not happen in TIMEZONE (skipped when clocks go
    forward) or happens twice (when they go back) and no offset says which; with an offset,
    when that offset is not one TIMEZONE uses then."""
    place = zone(timezone)
    if starts.tzinfo is not None:
        offset = starts.utcoffset()
        local = starts.replace(tzinfo=None)
        if offset not in {local.replace(tzinfo=place, fold=f).utcoffset() for f in (0, 1)}:
            real = local.replace(tzinfo=place).strftime("%z")
            raise ValueError(f"the offset {starts.strftime('%z')} is not {timezone}'s at that "
                             f"time ({real[:3]}:{real[3:]}); drop the offset or fix it")
        return
    early, late = (starts.replace(tzinfo=place, fold=f) for f in (0, 1))
    if early.utcoffset() == late.utcoffset():
        return
    when = starts.strftime("%Y-%m-%d %H:%M")
    back = early.astimezone(UTC).astimezone(place).replace(tzinfo=None)
    if back != starts:
        raise ValueError(f"{when} does not exist in {timezone}: the clocks skip that hour "
                         "(daylight saving time); choose a time before or after it")
    offsets = [f"{t.isoformat(timespec='minutes')}" for t in (early, late)]
    raise ValueError(f"{when} happens twice in {timezone} (the clocks go back); write which "
                     f"one with its offset: {offsets[0]} or {offsets[1]}")


@dataclass(frozen=True)
class EventsContent:
    regions: dict[str, Region] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)

    def region_and_children(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        """The regions and everything under them ("europe" includes "de")."""
        chosen = set(codes)
        changed = True
        while changed:
            children = {c for c, r in self.regions.items() if r.parent in chosen} - chosen
            chosen |= children
            changed = bool(children)
        return tuple(sorted(chosen))

    def region_timezone(self, code: str) -> str:
        """The region's zone, else its nearest ancestor's; "" if none names one."""
        seen: set[str] = set()
        region = self.regions.get(code)
        while region is not None and region.code not in seen:
            if region.timezone:
                return region.timezone
            seen.add(region.code)
            region = self.regions.get(region.parent)
        return ""


def _checked_regions(listed: tuple[Region, ...],
                     problem: Callable[[str, str], None]) -> dict[str, Region]:
    """The regions by code, noting a code given twice (the second would silently replace
    the first, and invites meant for its members would go elsewhere), an unknown parent and
    a cycle of parents (a region inside itself)."""
    regions: dict[str, Region] = {}
    first: dict[str, int] = {}
    for index, region in enumerate(listed):
        if region.code in first:
            problem(f"regions[{index}].code", f"{region.code!r} is already regions"
                    f"[{first[region.code]}] ({regions[region.code].name}); each code once")
            continue
        first[region.code] = index
        regions[region.code] = region
    for code, index in first.items():
        parent = regions[code].parent
        if parent and parent not in regions:
            problem(f"regions[{index}].parent", f"unknown region {parent!r}")
            continue
        chain = [code]
        while parent and parent in regions and parent not in chain:
            chain.append(parent)
            parent = regions[parent].parent
        if parent == code:
            problem(f"regions[{index}].parent", "the parents go round in a circle: "
                    f"{' -> '.join([*chain, code])}")
    return regions


def load(folder: ContentFolder) -> EventsContent:
    rel = folder.rel
    regions: dict[str, Region] = {}
    regions_path = folder.root / "regions.toml"
    if regions_path.exists():
        data = folder.read(regions_path)
        parsed = folder.validate(RegionsFile, data, regions_path) if data else None
        if parsed is not None:
            regions = _checked_regions(parsed.regions, lambda key, reason: folder.problem(
                rel(regions_path), key, reason))
    events: dict[str, Event] = {}
    for path in folder.files("events/*.toml"):
        data = folder.read(path)
        if data is None:
            continue
        if not re.match(ID_PATTERN, path.stem):
            folder.problem(rel(path), "", "the file name is the event id: use lowercase "
                           "letters, digits, - and _")
            continue
        parsed_event = folder.validate(EventFile, data, path)
        if parsed_event is None:
            continue
        for index, code in enumerate(parsed_event.regions):
            if code not in regions:
                folder.problem(rel(path), f"regions[{index}]",
                               f"unknown region {code!r} (see regions.toml)")
        # The path's files say which projects and workshops exist (read here by name only).
        for key, value, where in (("project", parsed_event.project, "projects"),
                                  ("workshop", parsed_event.workshop, "workshops")):
            if value and not (folder.root / where / f"{value}.toml").exists():
                folder.problem(rel(path), key, f"unknown {key} {value!r} (no {where}/"
                               f"{value}.toml)")
        events[path.stem] = parsed_event.to_event(path.stem, rel(path))
    return EventsContent(regions, events)


PART = ContentPart(EventsContent, ("regions.toml", "events/*.toml"), load,
                   lambda content: f"{len(content.regions)} regions, "
                                   f"{len(content.events)} events")
