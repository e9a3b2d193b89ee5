"""Reading a link a newcomer pasted: which configured forge it is on, and which change (a
Gerrit change, a GitHub pull request, a GitLab merge request) or repository it names.

Pure functions: nothing here touches the network."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from bot.i18n import ENGLISH, N_, Translator
from flows.forge.settings import ForgeHost

URL = re.compile(r"<?(https?://[^\s<>]+)>?", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""


CHANGE_WORDS = {"gerrit": N_("Gerrit change {number}"),
                "github": N_("pull request #{number}"),
                "gitlab": N_("merge request !{number}")}


@dataclass(frozen=True)
class Located:
    """A link on a configured forge: the forge, and the link's path below its web address."""

    name: str  # the forge's name in config
    host: ForgeHost
    url: str  # the link as pasted (cleaned)
    rest: tuple[str, ...]  # the path's parts below the forge's web address


@dataclass(frozen=True)
class ChangeRef:
    """A change on a forge, and where its REST API answers about it."""

    forge: Located
    number: int
    project: str  # Gerrit's project, GitHub's owner/repo, GitLab's namespace/project path

    @property
    def kind(self) -> str:
        return self.forge.host.kind

    @property
    def url(self) -> str:
        return self.forge.url

    @property
    def api_path(self) -> str:
        """The API's path (below the forge's API base) for this change."""
        if self.kind == "github":
            return f"/repos/{self.project}/pulls/{self.number}"
        if self.kind == "gitlab":
            return f"/projects/{quote(self.project, safe='')}/merge_requests/{self.number}"
        ident = f"{quote(self.project, safe='')}~{self.number}" if self.project else (
            str(self.number))
        return f"/changes/{ident}?o=CURRENT_REVISION&o=CURRENT_COMMIT&o=DETAILED_ACCOUNTS"

    def describe(self, tr: Translator = ENGLISH) -> str:
        """"Gerrit change 12345", "pull request #12 in owner/repo", "merge request !3 in g/p"."""
        mark = tr.t(CHANGE_WORDS[self.kind], number=self.number)
        return tr.t("{change} in {project}", change=mark, project=self.project) \
            if self.project else mark


@dataclass(frozen=True)
class RepoRef:
    """A repository (GitHub owner/repo, GitLab namespace/project) on a forge."""

    forge: Located
    project: str

    @property
    def api_path(self) -> str:
        if self.forge.host.kind == "github":
            return f"/repos/{self.project}"
        if self.forge.host.kind == "gitlab":
            return f"/projects/{quote(self.project, safe='')}"
        return f"/projects/{quote(self.project, safe='')}"


def find_url(text: str) -> str | None:
    """The first http(s) link in `text`, without the punctuation around it."""
    found = URL.search(text)
    if found is None:
        return None
    return found.group(1).rstrip(TRAILING)


def _parts(path: str) -> tuple[str, ...]:
    return tuple(p for p in path.split("/") if p)


def locate(url: str, hosts: dict[str, ForgeHost]) -> Located | None:
    """The configured forge `url` is on (its scheme, host and base path), or None."""
    link = urlsplit(url)
    for name, host in hosts.items():
        base = urlsplit(host.url)
        if (link.scheme.lower(), link.netloc.lower()) != (base.scheme.lower(),
                                                          base.netloc.lower()):
            continue
        base_parts = _parts(base.path)
        parts = _parts(link.path)
        if parts[:len(base_parts)] != base_parts:
            continue
        rest = parts[len(base_parts):]
        if host.kind == "gerrit" and link.fragment:  # the old UI: /#/c/12345/
            rest = (*rest, *_parts(link.fragment))
        return Located(name, host, url, rest)
    return None


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < len(text) <= 12 else None


def change_of(located: Located) -> ChangeRef | None:
    """The change a link on a forge names, or None if it names none."""
    rest = located.rest
    kind = located.host.kind
    if kind == "gerrit":
        # /c/<project>/+/<n>[/<patchset>], /c/<n>, /<n>, /#/c/<n>/, /+/<n>
        if "+" in rest:
            at = rest.index("+")
            number = _number(rest[at + 1]) if at + 1 < len(rest) else None
            project = "/".join(rest[1:at]) if rest[:1] == ("c",) else ""
            return ChangeRef(located, number, project) if number else None
        if rest[:1] == ("c",) and len(rest) >= 2:
            number = _number(rest[1])
            return ChangeRef(located, number, "") if number else None
        if len(rest) == 1:
            number = _number(rest[0])
            return ChangeRef(located, number, "") if number else None
        return None
    if kind == "github":
        # /<owner>/<repo>/pull/<n>[/files|/commits...]
        if len(rest) >= 4 and rest[2] in ("pull", "pulls"):
            number = _number(rest[3])
            return ChangeRef(located, number, f"{rest[0]}/{rest[1]}") if number else None
        return None
    # GitLab: /<namespace...>/<project>/-/merge_requests/<iid>
    if "-" in rest:
        at = rest.index("-")
        if at >= 2 and rest[at + 1:at + 2] == ("merge_requests",) and len(rest) > at + 2:
            number = _number(rest[at + 2])
            return ChangeRef(located, number, "/".join(rest[:at])) if number else None
    return None


def repo_of(located: Located) -> RepoRef | None:
    """The repository a link on GitHub or GitLab names (the link may go deeper into it)."""
    rest = located.rest
    if located.host.kind == "github":
        return RepoRef(located, f"{rest[0]}/{rest[1]}") if len(rest) >= 2 else None
    if located.host.kind == "gitlab":
        path = rest[:rest.index("-")] if "-" in rest else rest
        return RepoRef(located, "/".join(path)) if len(path) >= 2 else None
    return None
