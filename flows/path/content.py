"""The path's content: projects (content/projects/*.toml) with their tasks, workshops
(content/workshops/*.toml) with their steps and checkpoints, other words newcomers use for
the projects' tags, skills and languages (content/aliases.toml), and the community's name and
logo on its certificates (content/community.toml, optional)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from bot.content import ID_PATTERN, ContentFolder, ContentPart, Strict, check_identities
from bot.durations import parse_duration
from bot.fields import DurationOrEmpty
from bot.i18n import N_, Localized, LocalizedStr, Translator
from bot.model import Choice
from flows.path.matching import Hit, MatchIndex, build_index


class Task(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[Localized, Field(min_length=1)]
    url: str = ""
    skills: tuple[str, ...] = ()
    estimate: str = ""
    repeatable: bool = False  # handed out again after someone finished it (one at a time)


class Project(Strict):
    id: str = ""
    name: Annotated[str, Field(min_length=1)]
    summary: Annotated[Localized, Field(min_length=1)]  # or { en = "...", es = "..." }
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    docs: str = ""
    channels: dict[str, str] = Field(default_factory=dict)
    # network -> the id of the project's room there, for a room without a public name to
    # match on (a Telegram group without a username is only its chat id, -100...).
    room_ids: dict[str, str] = Field(default_factory=dict)
    mentors: tuple[str, ...] = ()
    mentor_channels: dict[str, str] = Field(default_factory=dict)  # network -> room, escalation
    workshop: str = ""
    featured: bool = True
    tasks: tuple[Task, ...] = ()
    task_sources: tuple[dict[str, Any], ...] = ()  # checked by flows/tracker/content.py

    _mentors_are_identities = field_validator("mentors")(check_identities)

    @field_validator("room_ids", mode="before")
    @classmethod
    def _room_ids_look_like_ids(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # pydantic says what it should be
        # A chat id may be written as a TOML number or a string.
        ids = {network: str(room).strip() if isinstance(room, str | int) else room
               for network, room in value.items()}
        for network, room in ids.items():
            if not isinstance(room, str):
                continue
            shape = ROOM_ID_SHAPES.get(network)
            if not room or (shape is not None and not shape[0].match(room)):
                raise ValueError(f"{network} = {room!r} is not a room id ({network}: "
                                 f"{shape[1] if shape else 'not empty'})")
        return ids


# What a room id looks like where a network's ids have a fixed shape, and how to find it.
ROOM_ID_SHAPES = {
    "telegram": (re.compile(r"^-\d{1,20}$"), 'a group\'s chat id, a negative number such as '
                 '-1001234567890 (add the bot to the group; it is the "chat" "id" of its '
                 'updates)'),
    "matrix": (re.compile(r"^![^:\s]+:\S+$"), "a room id such as !abc:example.org (the room's "
               "settings, Advanced)"),
}


class ConfirmCheckpoint(Strict):
    kind: Literal["confirm"]


class AnswerCheckpoint(Strict):
    kind: Literal["answer"]
    question: Annotated[Localized, Field(min_length=1)]
    accept: Annotated[tuple[str, ...], Field(min_length=1)]


class UrlCheckpoint(Strict):
    kind: Literal["url"]
    pattern: Annotated[str, Field(min_length=1)]
    prompt: Localized = LocalizedStr("Paste the link here.")
    # A link that passes, shown to someone whose link does not (and compared with theirs).
    example: str = ""

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        # The standard library checks the syntax (the regex library that matches answers
        # reads the same syntax), so loading content does not load the matcher.
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _example_passes(self) -> UrlCheckpoint:
        if self.example and re.match(self.pattern, self.example) is None:
            raise ValueError(f"the example {self.example!r} does not match the pattern")
        return self


class GerritAccountCheckpoint(Strict):
    """The answer is a username that exists on the project's Gerrit (checked by the forge
    feature against the configured forge)."""

    kind: Literal["gerrit-account"]
    prompt: Localized = LocalizedStr("What is your Gerrit username?")


class ForgeLinkCheckpoint(Strict):
    """The answer is a link to an existing repository or change of theirs on `forge`."""

    kind: Literal["forge-link"]
    forge: Literal["gerrit", "github", "gitlab"]
    prompt: str = ""


ForgeCheckpoint = GerritAccountCheckpoint | ForgeLinkCheckpoint
Checkpoint = Annotated[
    ConfirmCheckpoint | AnswerCheckpoint | UrlCheckpoint | GerritAccountCheckpoint
    | ForgeLinkCheckpoint, Field(discriminator="kind")
]
# the tags pydantic adds to an error's key
CHECKPOINT_KINDS = ("confirm", "answer", "url", "gerrit-account", "forge-link")


class WorkshopStep(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[Localized, Field(min_length=1)]
    body: Annotated[Localized, Field(min_length=1)]
    checkpoint: Checkpoint = ConfirmCheckpoint(kind="confirm")
    stuck_after: DurationOrEmpty = ""
    skippable: bool = False


class Workshop(Strict):
    id: str = ""
    title: Annotated[Localized, Field(min_length=1)]
    certificate: bool = True
    steps: Annotated[tuple[WorkshopStep, ...], Field(min_length=1)]


class StageText(Strict):
    """One stage of the growth path in newcomers' words (content/stages.toml)."""

    title: Annotated[Localized, Field(min_length=1, max_length=60)]
    what: Annotated[Localized, Field(min_length=1, max_length=600)]  # what it is
    counts: Annotated[Localized, Field(min_length=1, max_length=400)]  # what counts toward it
    next: Annotated[Localized, Field(min_length=1, max_length=400)]  # what comes after it


class StagesFile(Strict):
    stages: Annotated[tuple[StageText, ...], Field(min_length=5, max_length=5)]


# The words when content/stages.toml is absent; {more_involved_at}: tasks that open stage 5.
DEFAULT_STAGES = (
    StageText(title=N_("Find your project"),
              what=N_("Three questions about you, then you pick a project that fits."),
              counts=N_("choosing one."), next=N_("your project's workshop (stage 2).")),
    StageText(title=N_("Get started"),
              what=N_("Your project's workshop: set up, then a first change, step by step."),
              counts=N_("each checkpoint you pass."),
              next=N_("a first task reserved for you (stage 3).")),
    StageText(title=N_("First task"),
              what=N_("One small, real task reserved for you, with mentors to help."),
              counts=N_("typing !done once your change is submitted."),
              next=N_("more tasks and your project's meetings (stage 4).")),
    StageText(title=N_("Get involved"), what=N_("More tasks, at your own pace."),
              counts=N_("every task you finish; {more_involved_at} in all open stage 5."),
              next=N_("events, meetups and hackathons (stage 5).")),
    StageText(title=N_("Get more involved"),
              what=N_("You know your way around: bigger tasks, events, helping newcomers in your "
                   "project's channel."),
              counts=N_("nothing more is counted."), next=N_("it lasts as long as you like.")),
)


class Community(Strict):
    """content/community.toml: what a certificate names as its issuer."""

    name: Annotated[str, Field(min_length=1, max_length=120)] = "Wayfinder"
    logo: str = ""  # a PNG or JPEG file in the content folder, e.g. "logo.png"


LOGO_MAX_BYTES = 512 * 1024


# Texts shown with their choices a content version keeps (PathContent.shown): discovery's
# question pages and the workshops' steps, in each language asked for (remember(): the
# oldest dropped first).
SHOWN_KEPT = 4096

@dataclass(frozen=True)
class CommunityBrand:
    name: str = "Wayfinder"
    logo: bytes = b""  # the logo file's bytes (PNG or JPEG), checked at load


@dataclass(frozen=True)
class PathContent:
    projects: dict[str, Project]
    workshops: dict[str, Workshop]
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # term -> other words
    community: CommunityBrand = CommunityBrand()
    stages: tuple[StageText, ...] = DEFAULT_STAGES  # content/stages.toml, five in order
    # Texts made of this content alone, made once per content version (key -> text): the
    # mentors of a project as read on one network (every card and task names them), the stage
    # notes in one language (every !status shows five).
    said: dict[tuple[object, ...], str] = field(default_factory=dict, init=False, repr=False,
                                                compare=False)
    # !status's five stages in one language, as it lists them: (title, note line).
    stage_rows: dict[Translator, tuple[tuple[str, str], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # The same for texts shown with their choices: a workshop step in one language. At most
    # SHOWN_KEPT.
    shown: dict[tuple[object, ...], tuple[str, tuple[Choice, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # A discovery question's options (by its field), ranked and paged: asked three times a
    # newcomer, the same for every one of them.
    pages: dict[str, list[list[str]]] = field(default_factory=dict, init=False, repr=False,
                                              compare=False)
    # What a newcomer's answers (in order) match, per project, with the featured projects
    # ranked by it and whether any matched: many newcomers pick the same options, and
    # matching and ranking them cost more than the rest of a suggestion. At most MATCHED_KEPT.
    matched: dict[tuple[str, ...], tuple[dict[str, list[Hit]], tuple[str, ...], bool]] = field(
        default_factory=dict, init=False, repr=False, compare=False)
    # A suggested project's card, by (project, answers, the unmatched note, region, network,
    # translator): at most CARDS_KEPT (flows/path/discovery.py).
    cards: dict[tuple[object, ...], str] = field(default_factory=dict, init=False, repr=False,
                                                 compare=False)

    @cached_property
    def index(self) -> MatchIndex:
        """What free text is matched against: built once per content version, on first use."""
        return build_index({pid: (p.tags, p.skills, p.languages, p.summary)
                            for pid, p in self.projects.items()}, self.aliases)

    def project_for_room(self, network: str, room_name: str,
                         room_id: str = "") -> Project | None:
        """The project whose channel this room is (content maps channels to projects): by
        the room's public name, or by its id in `room_ids` (a deep link from a group
        without a public name carries the group's id as the room's name)."""
        wanted = room_name.strip().lower()
        for project in self.projects.values():
            room = project.room_ids.get(network)
            if room is not None and room in (room_id, room_name):
                return project
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

    def workshop_for(self, project_id: str) -> Workshop | None:
        """The workshop of the project with this id (a person's chosen one), if both exist."""
        project = self.projects.get(project_id)
        return self.workshops.get(project.workshop) if project is not None else None


def load(folder: ContentFolder) -> PathContent:
    root = folder.root
    rel = folder.rel
    projects: dict[str, Project] = {}
    workshops: dict[str, Workshop] = {}
    for path in folder.files("workshops/*.toml"):
        data = folder.read(path)
        if data is not None:
            workshop = folder.validate(Workshop, {**data, "id": path.stem}, path,
                                       ignore=CHECKPOINT_KINDS)
            if workshop is not None:
                seen: set[str] = set()
                for index, step in enumerate(workshop.steps):
                    if step.id in seen:
                        folder.problem(rel(path), f"steps[{index}].id",
                                       f"duplicate step id {step.id!r}")
                    seen.add(step.id)
                workshops[path.stem] = workshop

    task_owner: dict[str, str] = {}
    room_owner: dict[tuple[str, str], str] = {}
    for path in folder.files("projects/*.toml"):
        data = folder.read(path)
        if data is None:
            continue
        project = folder.validate(Project, {**data, "id": path.stem}, path)
        if project is None:
            continue
        if project.workshop and project.workshop not in workshops:
            folder.problem(rel(path), "workshop", f"unknown workshop id {project.workshop!r}")
        for index, task in enumerate(project.tasks):
            if task.id in task_owner:
                folder.problem(rel(path), f"tasks[{index}].id",
                               f"duplicate task id {task.id!r} (also in {task_owner[task.id]})")
            task_owner[task.id] = rel(path)
        for network, room in project.room_ids.items():
            if (network, room) in room_owner:
                folder.problem(rel(path), f"room_ids.{network}",
                               f"{room} is already {room_owner[network, room]}'s room")
            room_owner[network, room] = path.stem
        projects[path.stem] = project
    if not projects and not any(p.file.startswith(root.name + "/projects")
                                for p in folder.problems):
        folder.problem(rel(root / "projects"), "", "no project files (*.toml)")
    return PathContent(projects, workshops, _aliases(folder, projects), _community(folder),
                       _stages(folder))


def _stages(folder: ContentFolder) -> tuple[StageText, ...]:
    path = folder.root / "stages.toml"
    if not path.exists():
        return DEFAULT_STAGES
    data = folder.read(path)
    found = None if data is None else folder.validate(StagesFile, data, path)
    return DEFAULT_STAGES if found is None else found.stages


def _community(folder: ContentFolder) -> CommunityBrand:
    path = folder.root / "community.toml"
    if not path.exists():
        return CommunityBrand()
    data = folder.read(path)
    found = None if data is None else folder.validate(Community, data, path)
    if found is None:
        return CommunityBrand()
    logo = b""
    if found.logo:
        file = folder.rel(path)
        where = (folder.root / found.logo).resolve()
        if not where.is_relative_to(folder.root.resolve()):
            folder.problem(file, "logo", "must be a file inside the content folder")
        elif not where.is_file():
            folder.problem(file, "logo", f"no such file: {found.logo}")
        elif where.stat().st_size > LOGO_MAX_BYTES:
            folder.problem(file, "logo", f"larger than {LOGO_MAX_BYTES // 1024} KiB")
        else:
            data_ = where.read_bytes()
            if data_.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
                logo = data_
            else:
                folder.problem(file, "logo", "not a PNG or JPEG image")
    return CommunityBrand(found.name, logo)


ALIAS_EXAMPLE = 'e.g. translation = ["translate", "localisation", "i18n"]'


def _aliases(folder: ContentFolder, projects: dict[str, Project]) -> dict[str, tuple[str, ...]]:
    """aliases.toml: a tag, skill or language (as some project spells it) = other words for it."""
    path = folder.root / "aliases.toml"
    if not path.exists():
        return {}
    data = folder.read(path)
    if data is None:
        return {}
    file = folder.rel(path)
    terms = {t.lower() for p in projects.values() for t in (*p.tags, *p.skills, *p.languages)}
    aliases: dict[str, tuple[str, ...]] = {}
    for term, words in data.items():
        if not isinstance(words, list) or not words:
            folder.problem(file, term, f"not a list of words ({ALIAS_EXAMPLE})")
            continue
        good = True
        for index, word in enumerate(words):
            if not isinstance(word, str) or not word.strip():
                folder.problem(file, f"{term}[{index}]", "not a word (a non-empty string)")
                good = False
        if projects and term.lower() not in terms:
            folder.problem(file, term, "no project has this tag, skill or language (a key names "
                                       f"one of them, {ALIAS_EXAMPLE})")
            good = False
        if good:
            aliases[term.lower()] = tuple(w.strip() for w in words)
    return aliases


def describe(content: PathContent) -> str:
    tasks = sum(len(p.tasks) for p in content.projects.values())
    return (f"{len(content.projects)} projects, {len(content.workshops)} workshops, "
            f"{tasks} tasks")


PART = ContentPart(PathContent, ("projects/*.toml", "workshops/*.toml", "aliases.toml",
                                 "community.toml", "stages.toml", "*.png", "*.jpg", "*.jpeg"), load,
                   describe)


def step_stuck_after(step: WorkshopStep, default: timedelta) -> timedelta:
    return parse_duration(step.stuck_after) if step.stuck_after else default
