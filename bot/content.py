"""Community content (projects, workshops, regions, events) loaded from TOML and validated.

Organizers edit these files without a release, so every problem is reported at once,
each with the file, the key and the reason.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.durations import parse_duration
from bot.fields import Duration, DurationOrEmpty, ZoneName, ZoneNameOrEmpty
from bot.officehours import parse_hours
from bot.quiet import zone

IDENTITY_PATTERN = re.compile(r"^[a-z]+:\S+$")
ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


def _identities(value: tuple[str, ...]) -> tuple[str, ...]:
    for identity in value:
        if not IDENTITY_PATTERN.match(identity):
            raise ValueError(f"{identity!r} is not \"network:id\" (the network's name, a colon, "
                             "the person's id there)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Task(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[str, Field(min_length=1)]
    url: str = ""
    skills: tuple[str, ...] = ()
    estimate: str = ""


class Project(_Strict):
    id: str = ""
    name: Annotated[str, Field(min_length=1)]
    summary: Annotated[str, Field(min_length=1)]
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    docs: str = ""
    channels: dict[str, str] = Field(default_factory=dict)
    mentors: tuple[str, ...] = ()
    mentor_channels: dict[str, str] = Field(default_factory=dict)  # network -> room, escalation
    workshop: str = ""
    featured: bool = True
    tasks: tuple[Task, ...] = ()

    _mentors_are_identities = field_validator("mentors")(_identities)


class MentorProfile(_Strict):
    """How to reach one mentor: identities on one or more networks, and when they help."""

    identities: Annotated[tuple[str, ...], Field(min_length=1)]
    name: str = ""
    preferred: str = ""  # network for pings; empty: the first identity's network
    timezone: str = "UTC"
    hours: str = "always"  # e.g. "mon-fri 09:00-17:00, sat 10:00-12:00"
    capacity: Annotated[int, Field(ge=1, le=100)] = 3

    _identities_are_identities = field_validator("identities")(_identities)

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


class _MentorsFile(_Strict):
    mentors: tuple[MentorProfile, ...] = ()


class ConfirmCheckpoint(_Strict):
    kind: Literal["confirm"]


class AnswerCheckpoint(_Strict):
    kind: Literal["answer"]
    question: Annotated[str, Field(min_length=1)]
    accept: Annotated[tuple[str, ...], Field(min_length=1)]


class UrlCheckpoint(_Strict):
    kind: Literal["url"]
    pattern: Annotated[str, Field(min_length=1)]
    prompt: str = "Paste the link here."

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from None
        return value


Checkpoint = Annotated[
    ConfirmCheckpoint | AnswerCheckpoint | UrlCheckpoint, Field(discriminator="kind")
]


class WorkshopStep(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[str, Field(min_length=1)]
    body: Annotated[str, Field(min_length=1)]
    checkpoint: Checkpoint = ConfirmCheckpoint(kind="confirm")
    stuck_after: DurationOrEmpty = ""
    skippable: bool = False


class Workshop(_Strict):
    id: str = ""
    title: Annotated[str, Field(min_length=1)]
    certificate: bool = True
    steps: Annotated[tuple[WorkshopStep, ...], Field(min_length=1)]


class Region(_Strict):
    code: Annotated[str, Field(pattern=ID_PATTERN)]
    name: Annotated[str, Field(min_length=1)]
    parent: str = ""
    timezone: ZoneNameOrEmpty = ""


class _RegionsFile(_Strict):
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


@dataclass(frozen=True)
class Event:
    """A meetup, hackathon or conference organizers invite newcomers to."""

    id: str
    title: str
    starts_at: datetime  # UTC
    timezone: str  # where it happens: times are shown in it, reminders count its days
    place: str
    regions: tuple[str, ...]
    audience: str
    capacity: int | None = None
    reminders: tuple[str, ...] = ()  # durations before the start, e.g. ("1d",)
    created_by: str = ""
    source: str = "chat"  # "chat" or the content file


class EventFile(_Strict):
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
class ContentProblem:
    file: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key or '(file)'}: {self.reason}"


class ContentError(Exception):
    def __init__(self, problems: list[ContentProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Content:
    projects: dict[str, Project]
    workshops: dict[str, Workshop]
    regions: dict[str, Region] = field(default_factory=dict)
    mentor_profiles: tuple[MentorProfile, ...] = ()
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

    def mentor_profile(self, identity_key: str) -> MentorProfile:
        """The profile holding this identity; a bare identity gets the defaults."""
        for profile in self.mentor_profiles:
            if identity_key in profile.identities:
                return profile
        return MentorProfile(identities=(identity_key,))

    def project_for_room(self, network: str, room_name: str) -> Project | None:
        """The project whose channel this room is (content maps channels to projects)."""
        wanted = room_name.strip().lower()
        if not wanted:
            return None
        for project in self.projects.values():
            for net, channel in project.channels.items():
                # The console stands in for any network, so it matches every channel name.
                if (net == network or network == "console") and channel.lower() == wanted:
                    return project
        return None

    def workshop_of(self, project: Project) -> Workshop | None:
        return self.workshops.get(project.workshop)


def _loc(parts: tuple[int | str, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _read_toml(path: Path, rel: str, problems: list[ContentProblem]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        problems.append(ContentProblem(rel, "", f"not valid TOML: {exc}"))
    except OSError as exc:
        problems.append(ContentProblem(rel, "", f"cannot read: {exc.strerror}"))
    return None


M = TypeVar("M", bound=BaseModel)


def _validate(
    model: type[M], data: dict[str, Any], rel: str, problems: list[ContentProblem]
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            # Drop the discriminator tag pydantic adds for checkpoint kinds.
            loc = tuple(p for p in err["loc"] if p not in ("confirm", "answer", "url"))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(ContentProblem(rel, _loc(loc), message))
    return None


def load_content(root: Path) -> Content:
    """Load and check a content folder; raise ContentError listing every problem."""
    problems: list[ContentProblem] = []
    if not root.is_dir():
        raise ContentError([ContentProblem(str(root), "", "content folder not found")])
    projects: dict[str, Project] = {}
    workshops: dict[str, Workshop] = {}
    regions: dict[str, Region] = {}

    def rel(path: Path) -> str:
        return str(path.relative_to(root.parent))

    for path in sorted((root / "workshops").glob("*.toml")):
        data = _read_toml(path, rel(path), problems)
        if data is not None:
            workshop = _validate(Workshop, {**data, "id": path.stem}, rel(path), problems)
            if workshop is not None:
                seen: set[str] = set()
                for index, step in enumerate(workshop.steps):
                    if step.id in seen:
                        problems.append(ContentProblem(rel(path), f"steps[{index}].id",
                                                       f"duplicate step id {step.id!r}"))
                    seen.add(step.id)
                workshops[path.stem] = workshop

    task_owner: dict[str, str] = {}
    for path in sorted((root / "projects").glob("*.toml")):
        data = _read_toml(path, rel(path), problems)
        if data is None:
            continue
        project = _validate(Project, {**data, "id": path.stem}, rel(path), problems)
        if project is None:
            continue
        if project.workshop and project.workshop not in workshops:
            problems.append(ContentProblem(rel(path), "workshop",
                                           f"unknown workshop id {project.workshop!r}"))
        for index, task in enumerate(project.tasks):
            if task.id in task_owner:
                problems.append(ContentProblem(
                    rel(path), f"tasks[{index}].id",
                    f"duplicate task id {task.id!r} (also in {task_owner[task.id]})"))
            task_owner[task.id] = rel(path)
        projects[path.stem] = project
    if not projects and not any(p.file.startswith(root.name + "/projects") for p in problems):
        problems.append(ContentProblem(rel(root / "projects"), "", "no project files (*.toml)"))

    regions_path = root / "regions.toml"
    if regions_path.exists():
        data = _read_toml(regions_path, rel(regions_path), problems)
        parsed = _validate(_RegionsFile, data, rel(regions_path), problems) if data else None
        if parsed is not None:
            regions = {r.code: r for r in parsed.regions}
            for index, region in enumerate(parsed.regions):
                if region.parent and region.parent not in regions:
                    problems.append(ContentProblem(rel(regions_path), f"regions[{index}].parent",
                                                   f"unknown region {region.parent!r}"))
    profiles: tuple[MentorProfile, ...] = ()
    mentors_path = root / "mentors.toml"
    if mentors_path.exists():
        data = _read_toml(mentors_path, rel(mentors_path), problems)
        mentors = _validate(_MentorsFile, data, rel(mentors_path), problems) if data else None
        if mentors is not None:
            profiles = mentors.mentors
            owner: dict[str, int] = {}
            for index, profile in enumerate(profiles):
                for identity in profile.identities:
                    if identity in owner:
                        problems.append(ContentProblem(
                            rel(mentors_path), f"mentors[{index}].identities",
                            f"{identity!r} is also in mentors[{owner[identity]}]"))
                    owner[identity] = index
    events: dict[str, Event] = {}
    for path in sorted((root / "events").glob("*.toml")):
        data = _read_toml(path, rel(path), problems)
        if data is None:
            continue
        if not re.match(ID_PATTERN, path.stem):
            problems.append(ContentProblem(rel(path), "", "the file name is the event id: use "
                                           "lowercase letters, digits, - and _"))
            continue
        parsed_event = _validate(EventFile, data, rel(path), problems)
        if parsed_event is None:
            continue
        for index, code in enumerate(parsed_event.regions):
            if code not in regions:
                problems.append(ContentProblem(rel(path), f"regions[{index}]",
                                               f"unknown region {code!r} (see regions.toml)"))
        events[path.stem] = parsed_event.to_event(path.stem, rel(path))
    if problems:
        raise ContentError(problems)
    return Content(projects=projects, workshops=workshops, regions=regions,
                   mentor_profiles=profiles, events=events)


def step_stuck_after(step: WorkshopStep, default: timedelta) -> timedelta:
    return parse_duration(step.stuck_after) if step.stuck_after else default
