"""Where a project's tasks come from: `[[task_sources]]` in its file (content/projects/*.toml),
beside the path's static [[tasks]], which stay as the fallback.

```toml
[[task_sources]]
kind = "github"               # or "gitlab", "phabricator" (Phorge too)
repo = "lumen/pagebot"        # gitlab: project = "group/name"; phabricator: url and tag
labels = ["good first issue"]
token_env = "GITHUB_TOKEN"    # optional for github and gitlab (anonymous limits)
skills = ["python"]           # skills every task of this source asks for
label_skills = { docs = ["writing"] }   # a label or tag -> the skills it means
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.content import ID_PATTERN, ContentFolder, ContentPart, Strict

URL_PATTERN = r"^https?://[^\s/]+(/\S*)?$"
ENV_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _lower(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for v in values if v.strip())


class SourceBase(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN, max_length=32)] = ""  # default: its kind
    # The environment variable holding the API token: never the token itself.
    token_env: Annotated[str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$")] = ""
    skills: tuple[str, ...] = ()
    label_skills: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    _skills_lower = field_validator("skills")(_lower)

    @field_validator("label_skills")
    @classmethod
    def _labels_lower(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {k.strip().lower(): _lower(v) for k, v in value.items()}

    @property
    def name(self) -> str:
        return self.id or str(getattr(self, "kind", "source"))

    # A label that label_skills does not map counts as a skill of its own name.
    unmapped_labels_count: ClassVar[bool] = True

    def skills_for(self, labels: list[str]) -> tuple[str, ...]:
        """The source's skills, and each label's (mapped, else the label itself)."""
        found = list(self.skills)
        for label in labels:
            key = label.strip().lower()
            found += self.label_skills.get(key, (key,) if self.unmapped_labels_count else ())
        return tuple(dict.fromkeys(s for s in found if s))


class PhabricatorSource(SourceBase):
    """Phabricator or Phorge: Conduit's maniphest.search, open tasks with the tag, unowned."""

    kind: Literal["phabricator", "phorge"]
    url: Annotated[str, Field(pattern=URL_PATTERN)]
    tag: Annotated[str, Field(min_length=1)]  # a project's slug (hashtag) or PHID
    token_env: Annotated[str, Field(pattern=ENV_PATTERN)]  # Conduit needs an API token
    open_statuses: tuple[str, ...] = ("open",)
    # A task's tags come as project PHIDs: label_skills maps those it names
    # ("PHID-PROJ-abc" = ["python"]); the others mean nothing to a newcomer.
    unmapped_labels_count: ClassVar[bool] = False


class GitHubSource(SourceBase):
    """GitHub's REST issues API: open issues with all the labels, no assignee, no PRs."""

    kind: Literal["github"]
    repo: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")]
    labels: tuple[str, ...] = ()
    url: Annotated[str, Field(pattern=URL_PATTERN)] = "https://api.github.com"


class GitLabSource(SourceBase):
    """GitLab's REST issues API: open issues with all the labels, no assignee."""

    kind: Literal["gitlab"]
    project: Annotated[str, Field(pattern=r"^([A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+|[0-9]+)$")]
    labels: tuple[str, ...] = ()
    url: Annotated[str, Field(pattern=URL_PATTERN)] = "https://gitlab.com"


Source = Annotated[PhabricatorSource | GitHubSource | GitLabSource, Field(discriminator="kind")]
SOURCE_KINDS = ("phabricator", "phorge", "github", "gitlab")  # the tag in an error's key


class ProjectSources(BaseModel):
    """The part of a project file this feature reads; the path checks the rest."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)
    task_sources: tuple[Source, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _a_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("task_sources"), dict):
            raise ValueError("task_sources is a list of tables: write [[task_sources]]")
        return data


@dataclass(frozen=True)
class Located:
    """A source with where it is: its project and its key in the cache."""

    project_id: str
    source: PhabricatorSource | GitHubSource | GitLabSource

    @property
    def key(self) -> str:
        return f"{self.project_id}/{self.source.name}"

    def task_id(self, native_id: str) -> str:
        return f"{self.project_id}-{self.source.name}-{re.sub(r'[^a-z0-9]', '', native_id.lower())}"


@dataclass(frozen=True)
class TrackerContent:
    sources: dict[str, tuple[Located, ...]]  # by project id

    def all(self) -> list[Located]:
        return [s for found in self.sources.values() for s in found]

    def by_key(self, key: str) -> Located | None:
        return next((s for s in self.all() if s.key == key), None)


def load(folder: ContentFolder) -> TrackerContent:
    sources: dict[str, tuple[Located, ...]] = {}
    for path in folder.files("projects/*.toml"):
        data = folder.read(path)
        if data is None or "task_sources" not in data:
            continue  # a broken file is reported once, by the path's part
        found = folder.validate(ProjectSources, {"task_sources": data["task_sources"]}, path,
                                ignore=SOURCE_KINDS)
        if found is None:
            continue
        seen: set[str] = set()
        for index, source in enumerate(found.task_sources):
            if source.name in seen:
                folder.problem(folder.rel(path), f"task_sources[{index}].id",
                               f"two sources are called {source.name!r}: give one an id")
            seen.add(source.name)
        sources[path.stem] = tuple(Located(path.stem, s) for s in found.task_sources)
    return TrackerContent(sources)


def describe(content: TrackerContent) -> str:
    count = len(content.all())
    return f"{count} task sources" if count else ""


PART = ContentPart(TrackerContent, ("projects/*.toml",), load, describe)
