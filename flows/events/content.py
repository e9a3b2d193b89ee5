"""The events' content: regions (content/regions.toml) and events organizers write as files
(content/events/<id>.toml, also what `!event new` builds)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import Field

from bot.content import ID_PATTERN, ContentFolder, ContentPart, Strict
from bot.fields import Duration, ZoneName, ZoneNameOrEmpty, zone
from flows.events.records import Event


class Region(Strict):
    code: Annotated[str, Field(pattern=ID_PATTERN)]
    name: Annotated[str, Field(min_length=1)]
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


class EventFile(Strict):
    """content/events/<id>.toml, also what `!event new` builds."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    starts: datetime  # local wall time where it happens (a TOML local date-time)
    timezone: ZoneName
    place: Annotated[str, Field(max_length=300)] = ""
    regions: Annotated[tuple[str, ...], Field(min_length=1)]
    audience: Literal["everyone", "project", "workshop", "first-task", "involved"] = "everyone"
    capacity: Annotated[int | None, Field(ge=1)] = None
    reminders: tuple[Duration, ...] | None = None  # None: the config's [events] reminders

    def to_event(self, event_id: str, source: str, created_by: str = "") -> Event:
        local = self.starts.replace(tzinfo=None)
        starts = local.replace(tzinfo=zone(self.timezone)).astimezone(UTC)
        return Event(event_id, self.title, starts, self.timezone, self.place, self.regions,
                     self.audience, self.capacity,
                     self.reminders if self.reminders is not None else (), created_by, source)


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


def load(folder: ContentFolder) -> EventsContent:
    rel = folder.rel
    regions: dict[str, Region] = {}
    regions_path = folder.root / "regions.toml"
    if regions_path.exists():
        data = folder.read(regions_path)
        parsed = folder.validate(RegionsFile, data, regions_path) if data else None
        if parsed is not None:
            regions = {r.code: r for r in parsed.regions}
            for index, region in enumerate(parsed.regions):
                if region.parent and region.parent not in regions:
                    folder.problem(rel(regions_path), f"regions[{index}].parent",
                                   f"unknown region {region.parent!r}")
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
        events[path.stem] = parsed_event.to_event(path.stem, rel(path))
    return EventsContent(regions, events)


PART = ContentPart(EventsContent, ("regions.toml", "events/*.toml"), load,
                   lambda content: f"{len(content.regions)} regions, "
                                   f"{len(content.events)} events")
