"""Reading a tracker: its REST (or Conduit) API, paged, with its rate limits honoured.

Every answer is checked against the shape the API documents (pydantic models that ignore the
fields we do not use); anything else is a SourceError saying what was wrong, so the caller keeps
its last good cache. A listing is used only when every page of it came back: a source that
fails on page 3 keeps what it had.

- Phabricator / Phorge: POST {url}/api/maniphest.search (Conduit), `result.data`, paged by
  `result.cursor.after`; errors come as `error_code` / `error_info` with HTTP 200.
- GitHub: GET {api}/repos/{repo}/issues?state=open&labels=..&assignee=none, paged by the
  `Link: <..>; rel="next"` header; pull requests (items with a `pull_request` key) are left
  out; the first page is asked with If-None-Match, and a 304 (which costs no rate limit) means
  nothing changed when the last listing was one page. 403/429 with x-ratelimit-remaining 0
  or Retry-After wait for x-ratelimit-reset.
- GitLab: GET {url}/api/v4/projects/{id}/issues?state=opened&labels=..&assignee_id=None,
  paged by the `X-Next-Page` header; 429 waits for RateLimit-Reset or Retry-After.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

from flows.tracker.content import GitHubSource, GitLabSource, Located, PhabricatorSource

if TYPE_CHECKING:
    import httpx

PER_PAGE = 100


class SourceError(Exception):
    """Why a source could not be read; `retry_at`: not before then (a rate limit's reset)."""

    def __init__(self, why: str, retry_at: datetime | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.retry_at = retry_at


@dataclass(frozen=True)
class FetchedTask:
    native_id: str
    title: str
    url: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Fetched:
    """A whole listing; `tasks` None: unchanged since `etag` (nothing to write)."""

    tasks: list[FetchedTask] | None
    etag: str = ""  # kept only for a listing of one page (a 304 then covers all of it)
    truncated: bool = False


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


class _Label(_Shape):
    name: str


class _GitHubIssue(_Shape):
    number: int
    title: str
    html_url: str
    state: str
    labels: list[_Label | str] = []
    assignee: dict[str, Any] | None = None
    assignees: list[dict[str, Any]] = []
    pull_request: dict[str, Any] | None = None

    @property
    def taken(self) -> bool:
        return self.assignee is not None or bool(self.assignees)


class _GitLabIssue(_Shape):
    iid: int
    title: str
    web_url: str
    state: str
    labels: list[str] = []
    assignee: dict[str, Any] | None = None
    assignees: list[dict[str, Any]] = []

    @property
    def taken(self) -> bool:
        return self.assignee is not None or bool(self.assignees)


class _ConduitStatus(_Shape):
    value: str


class _ConduitFields(_Shape):
    name: str
    status: _ConduitStatus
    ownerPHID: str | None = None  # noqa: N815 (Conduit's name)


class _ConduitProjects(_Shape):
    projectPHIDs: list[str] = []  # noqa: N815 (Conduit's name)


class _ConduitAttachments(_Shape):
    projects: _ConduitProjects = _ConduitProjects()


class _ConduitTask(_Shape):
    id: int
    fields: _ConduitFields
    attachments: _ConduitAttachments | list[Any] = _ConduitAttachments()  # [] when empty

    @property
    def tags(self) -> tuple[str, ...]:
        found = self.attachments
        return tuple(found.projects.projectPHIDs) if isinstance(found, _ConduitAttachments) else ()


class _ConduitCursor(_Shape):
    after: str | int | None = None


class _ConduitResult(_Shape):
    data: list[_ConduitTask]
    cursor: _ConduitCursor = _ConduitCursor()


class _ConduitAnswer(_Shape):
    result: _ConduitResult | None = None
    error_code: str | None = None
    error_info: str | None = None


def _token(located: Located) -> str:
    name = located.source.token_env
    token = os.environ.get(name, "") if name else ""
    if name and not token and isinstance(located.source, PhabricatorSource):
        raise SourceError(f"the environment variable {name} (token_env) is not set")
    return token


def _when(epoch: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(epoch), UTC) if epoch else None
    except (ValueError, OverflowError, OSError):
        return None


def _rate_limit(response: httpx.Response, now: datetime) -> datetime | None:
    """When a refused request may be made again, if the refusal is a rate limit."""
    headers = response.headers
    limited = response.status_code == 429 or (
        response.status_code == 403 and (headers.get("x-ratelimit-remaining") == "0"
                                         or "retry-after" in headers))
    if not limited:
        return None
    retry = headers.get("retry-after", "")
    if retry.isdigit():
        return now + timedelta(seconds=int(retry))
    reset = _when(headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset"))
    return reset or now + timedelta(minutes=1)


def _checked(response: httpx.Response, now: datetime) -> Any:
    """The answer's JSON, or a SourceError saying what went wrong."""
    status = response.status_code
    if (retry_at := _rate_limit(response, now)) is not None:
        raise SourceError(f"rate limited (HTTP {status}) until "
                          f"{retry_at:%Y-%m-%d %H:%M} UTC", retry_at)
    if status in (401, 403):
        raise SourceError(f"refused (HTTP {status}): check the token (token_env) and access")
    if status == 404:
        raise SourceError("not found (HTTP 404): check the repository, project or URL")
    if status >= 500:
        raise SourceError(f"the tracker failed (HTTP {status})")
    if status != 200:
        raise SourceError(f"unexpected answer (HTTP {status})")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SourceError("answered with malformed JSON") from None


def _shaped(model: type[_Shape], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise SourceError(f"answered in an unexpected shape ({where}: {first['msg']})") from None


def _list_of(model: type[_Shape], data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise SourceError("answered in an unexpected shape (not a list of issues)")
    return [_shaped(model, item) for item in data]


async def _request(client: httpx.AsyncClient, method: str, url: str, seconds: float,
                   **kw: Any) -> httpx.Response:
    import httpx

    try:
        return await client.request(method, url, timeout=seconds, **kw)
    except httpx.TimeoutException:
        raise SourceError(f"no answer within {seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot reach it ({type(exc).__name__}: {exc})"[:300]) from None


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


# -- GitHub -------------------------------------------------------------------------------
def _github_headers(located: Located) -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token := _token(located):
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def _github(client: httpx.AsyncClient, located: Located, source: GitHubSource,
                  etag: str, now: datetime, seconds: float, limit: int) -> Fetched:
    headers = _github_headers(located)
    url: str | None = f"{source.url.rstrip('/')}/repos/{source.repo}/issues"
    params: dict[str, str] | None = {"state": "open", "assignee": "none",
                                     "per_page": str(PER_PAGE)}
    if source.labels and params is not None:
        params["labels"] = ",".join(source.labels)
    tasks: list[FetchedTask] = []
    first_etag = ""
    pages = 0
    while url is not None:
        conditional = {"If-None-Match": etag} if pages == 0 and etag else {}
        response = await _request(client, "GET", url, seconds, params=params,
                                  headers={**headers, **conditional})
        if response.status_code == 304 and pages == 0:
            return Fetched(None, etag)
        issues = _list_of(_GitHubIssue, _checked(response, now))
        if pages == 0:
            first_etag = response.headers.get("etag", "")
        pages += 1
        tasks += [FetchedTask(str(i.number), i.title, i.html_url,
                              tuple(x if isinstance(x, str) else x.name for x in i.labels))
                  for i in issues if i.pull_request is None and not i.taken
                  and i.state == "open"]
        following = response.links.get("next", {}).get("url")
        url, params = (following, None) if following else (None, None)
        if url is not None and not _same_origin(url, source.url):
            raise SourceError(f"its next page is on another host ({urlsplit(url).netloc})")
        if len(tasks) >= limit:
            return Fetched(tasks[:limit], truncated=True)
        if url is not None and response.headers.get("x-ratelimit-remaining") == "0":
            reset = _when(response.headers.get("x-ratelimit-reset"))
            raise SourceError("rate limit used up before the last page", reset)
    return Fetched(tasks, first_etag if pages == 1 else "")


async def _github_check(client: httpx.AsyncClient, located: Located, source: GitHubSource,
                        native_id: str, now: datetime, seconds: float) -> str:
    url = f"{source.url.rstrip('/')}/repos/{source.repo}/issues/{native_id}"
    response = await _request(client, "GET", url, seconds, headers=_github_headers(located))
    if response.status_code in (404, 410):
        return "closed"
    issue = _shaped(_GitHubIssue, _checked(response, now))
    return "closed" if issue.state != "open" else "assigned" if issue.taken else ""


# -- GitLab -------------------------------------------------------------------------------
def _gitlab_headers(located: Located) -> dict[str, str]:
    token = _token(located)
    return {"PRIVATE-TOKEN": token} if token else {}


def _gitlab_base(source: GitLabSource) -> str:
    return f"{source.url.rstrip('/')}/api/v4/projects/{quote(source.project, safe='')}/issues"


async def _gitlab(client: httpx.AsyncClient, located: Located, source: GitLabSource,
                  now: datetime, seconds: float, limit: int) -> Fetched:
    headers = _gitlab_headers(located)
    params = {"state": "opened", "assignee_id": "None", "per_page": str(PER_PAGE), "page": "1"}
    if source.labels:
        params["labels"] = ",".join(source.labels)
    tasks: list[FetchedTask] = []
    while True:
        response = await _request(client, "GET", _gitlab_base(source), seconds, params=params,
                                  headers=headers)
        issues = _list_of(_GitLabIssue, _checked(response, now))
        tasks += [FetchedTask(str(i.iid), i.title, i.web_url, tuple(i.labels))
                  for i in issues if not i.taken and i.state == "opened"]
        following = response.headers.get("x-next-page", "").strip()
        if len(tasks) >= limit:
            return Fetched(tasks[:limit], truncated=True)
        if not following.isdigit() or following == params["page"]:
            return Fetched(tasks)
        params["page"] = following


async def _gitlab_check(client: httpx.AsyncClient, located: Located, source: GitLabSource,
                        native_id: str, now: datetime, seconds: float) -> str:
    response = await _request(client, "GET", f"{_gitlab_base(source)}/{native_id}", seconds,
                              headers=_gitlab_headers(located))
    if response.status_code == 404:
        return "closed"
    issue = _shaped(_GitLabIssue, _checked(response, now))
    return "closed" if issue.state != "opened" else "assigned" if issue.taken else ""


# -- Phabricator / Phorge (Conduit) -----------------------------------------------------------
async def _conduit(client: httpx.AsyncClient, located: Located, source: PhabricatorSource,
                   params: dict[str, Any], now: datetime, seconds: float) -> _ConduitResult:
    body = {**params, "__conduit__": {"token": _token(located)}}
    response = await _request(
        client, "POST", f"{source.url.rstrip('/')}/api/maniphest.search", seconds,
        data={"params": json.dumps(body), "output": "json", "__conduit__": "1"})
    answer = _shaped(_ConduitAnswer, _checked(response, now))
    if answer.error_code or answer.result is None:
        raise SourceError(f"Conduit error {answer.error_code or '(no result)'}: "
                          f"{answer.error_info or ''}".strip()[:300])
    result: _ConduitResult = answer.result
    return result


async def _phabricator(client: httpx.AsyncClient, located: Located, source: PhabricatorSource,
                       now: datetime, seconds: float, limit: int) -> Fetched:
    tasks: list[FetchedTask] = []
    after: str | None = None
    base = source.url.rstrip("/")
    while True:
        params: dict[str, Any] = {
            "constraints": {"projects": [source.tag], "statuses": list(source.open_statuses)},
            "attachments": {"projects": True}, "order": "newest", "limit": PER_PAGE}
        if after is not None:
            params["after"] = after
        result = await _conduit(client, located, source, params, now, seconds)
        tasks += [FetchedTask(f"T{t.id}", t.fields.name, f"{base}/T{t.id}", t.tags)
                  for t in result.data if t.fields.ownerPHID is None
                  and t.fields.status.value in source.open_statuses]
        if len(tasks) >= limit:
            return Fetched(tasks[:limit], truncated=True)
        following = result.cursor.after
        if following is None or str(following) == after:
            return Fetched(tasks)
        after = str(following)


async def _phabricator_check(client: httpx.AsyncClient, located: Located,
                             source: PhabricatorSource, native_id: str, now: datetime,
                             seconds: float) -> str:
    number = native_id.removeprefix("T")
    if not number.isdigit():
        return "closed"
    result = await _conduit(client, located, source, {"constraints": {"ids": [int(number)]}},
                            now, seconds)
    if not result.data:
        return "closed"
    fields = result.data[0].fields
    return ("closed" if fields.status.value not in source.open_statuses
            else "assigned" if fields.ownerPHID else "")


# -- the two entry points -----------------------------------------------------------------------
async def fetch(client: httpx.AsyncClient, located: Located, etag: str, now: datetime,
                seconds: float, limit: int) -> Fetched:
    """Every open, unassigned task of a source (SourceError if it cannot be had whole)."""
    source = located.source
    if isinstance(source, GitHubSource):
        return await _github(client, located, source, etag, now, seconds, limit)
    if isinstance(source, GitLabSource):
        return await _gitlab(client, located, source, now, seconds, limit)
    return await _phabricator(client, located, source, now, seconds, limit)


async def check(client: httpx.AsyncClient, located: Located, native_id: str, now: datetime,
                seconds: float) -> str:
    """At hand-off: "" if the task is still open and unassigned, else "closed" or "assigned"
    (SourceError if the tracker cannot tell)."""
    source = located.source
    if isinstance(source, GitHubSource):
        return await _github_check(client, located, source, native_id, now, seconds)
    if isinstance(source, GitLabSource):
        return await _gitlab_check(client, located, source, native_id, now, seconds)
    return await _phabricator_check(client, located, source, native_id, now, seconds)
