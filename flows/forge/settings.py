"""The [forge] section: the forges the bot may ask, and how patiently.

Only the hosts listed here are ever contacted; a link to any other host cannot be checked and
goes to a mentor."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator

from bot.config import FeatureSettings, Section
from bot.durations import parse_duration
from bot.fields import Duration

ForgeKind = Literal["gerrit", "github", "gitlab", "phabricator"]
KINDS: tuple[ForgeKind, ...] = ("gerrit", "github", "gitlab", "phabricator")
# The forges whose changes `!done LINK` and checkpoints can check; a Phabricator (or Phorge)
# host serves linked accounts and their metrics only (Conduit, with an API token).
CHANGE_KINDS = ("gerrit", "github", "gitlab")


class ForgeHost(Section):
    """One forge: its web address (what links start with) and its REST API's."""

    kind: ForgeKind
    # https://gerrit.wikimedia.org/r, https://github.com, https://phabricator.wikimedia.org
    url: Annotated[str, Field(min_length=1)]
    # The REST API's base; empty: derived (Gerrit: url, GitHub: https://api.github.com,
    # GitLab: url + /api/v4).
    api_url: str = ""
    projects: tuple[str, ...] = ()  # the projects whose changes live here; empty: every one
    token_env: str = ""  # a token from the environment (optional: public data needs none)

    @field_validator("url", "api_url")
    @classmethod
    def _http(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value

    @property
    def api(self) -> str:
        if self.api_url:
            return self.api_url
        if self.kind == "github":
            return "https://api.github.com" if self.url == "https://github.com" else (
                f"{self.url}/api/v3")
        if self.kind == "gitlab":
            return f"{self.url}/api/v4"
        if self.kind == "phabricator":
            return f"{self.url}/api"  # Conduit: POST {api}/METHOD
        return self.url

    def serves(self, project_id: str) -> bool:
        return not self.projects or project_id in self.projects


class ForgeConfig(FeatureSettings):
    table: ClassVar[str] = "forge"
    hosts: dict[str, ForgeHost] = Field(default_factory=dict)  # name -> forge
    timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 3.0  # one request, at most
    recheck_every: Duration = "1h"  # an open change is asked about again this often
    failures_before_mentor: Annotated[int, Field(ge=1, le=100)] = 3  # forge down this often
    checks_per_tick: Annotated[int, Field(ge=1, le=1000)] = 50
    concurrency: Annotated[int, Field(ge=1, le=64)] = 8  # requests at once in one scan
    # Linked accounts' contributor metrics (changes merged, reviews, tasks closed): read again
    # this often, by a due job; after a failure, `metrics_retry` later.
    metrics_every: Duration = "1d"
    metrics_retry: Duration = "1h"
    metrics_per_tick: Annotated[int, Field(ge=1, le=1000)] = 20  # accounts read in one scan

    @property
    def recheck(self) -> timedelta:
        return parse_duration(self.recheck_every)

    @property
    def metrics_interval(self) -> timedelta:
        return parse_duration(self.metrics_every)

    @property
    def metrics_retry_after(self) -> timedelta:
        return parse_duration(self.metrics_retry)

    def host_of_kind(self, kind: str) -> tuple[str, ForgeHost] | None:
        """The first configured forge of this kind (`!forge github NAME`)."""
        return next(((n, h) for n, h in self.hosts.items() if h.kind == kind), None)

    def hosts_for(self, project_id: str) -> list[tuple[str, ForgeHost]]:
        return [(name, host) for name, host in self.hosts.items()
                if host.serves(project_id) and host.kind in CHANGE_KINDS]
