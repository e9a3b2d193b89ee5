"""Asking a forge's REST API: a change's state (Gerrit `/changes/`, GitHub pulls, GitLab merge
requests), whether an account or a repository exists.

Every request has a short timeout and goes only to a configured forge's API address. What goes
wrong is one of two exceptions: NotFoundError (the forge says there is no such thing) or
UnavailableError (no answer in time, refused, an error status, or an answer that cannot be
read), whose message is said to people as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from flows.forge import http
from flows.forge.links import ChangeRef, RepoRef
from flows.forge.settings import ForgeHost

GERRIT_PREFIX = ")]}'"  # Gerrit's guard against cross-site script inclusion, before the JSON
MAX_BODY = 4_000_000
Status = Literal["merged", "open", "abandoned"]
NAMES = {"gerrit": "Gerrit", "github": "GitHub", "gitlab": "GitLab", "phabricator": "Phabricator"}


class ForgeError(Exception):
    pass


class NotFoundError(ForgeError):
    """The forge answered: no such change, account or repository (404)."""


class UnavailableError(ForgeError):
    """The forge could not be asked; the message says why, in words for people."""


class RefusedError(UnavailableError):
    """The forge refused the request (401, 403, 429): a rate limit used up, or a token it
    does not take. Asking it again at once would be refused too."""


@dataclass(frozen=True)
class ChangeState:
    status: Status
    title: str
    text: str  # what it says about itself: title, description, commit message
    author: str  # the author's username on the forge ("" when not given)


def _headers(host: ForgeHost) -> dict[str, str]:
    token = os.environ.get(host.token_env, "") if host.token_env else ""
    headers = {"Accept": "application/json"}
    if host.kind == "github":
        headers["Accept"] = "application/vnd.github+json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
    elif host.kind == "gitlab" and token:
        headers["PRIVATE-TOKEN"] = token
    return headers


async def fetch_json(host: ForgeHost, path: str, seconds: float) -> Any:
    """GET the API's `path` and decode its JSON (Gerrit's prefix removed)."""
    return (await fetch_with_headers(host, path, seconds))[0]


async def fetch_with_headers(host: ForgeHost, path: str, seconds: float
                             ) -> tuple[Any, Mapping[str, str]]:
    """As fetch_json, with the answer's headers (GitLab's X-Total counts a listing)."""
    import httpx

    name = NAMES[host.kind]
    client = http.client()
    if client is None:
        raise UnavailableError(f"{name} can't be asked while the bot is not running")
    try:
        response = await client.get(host.api + path, headers=_headers(host),
                                           timeout=seconds)
    except httpx.TimeoutException:
        raise UnavailableError(f"{name} did not answer within {seconds:g} seconds") from None
    except httpx.HTTPError:
        raise UnavailableError(f"{name} could not be reached") from None
    if response.status_code == 404:
        raise NotFoundError(f"{name} has no such thing")
    if response.status_code in (401, 403, 429):
        raise RefusedError(f"{name} refused the request ({response.status_code})")
    if response.status_code != 200:
        raise UnavailableError(f"{name} answered with an error ({response.status_code})")
    body = response.content[:MAX_BODY].decode("utf-8", errors="replace")
    if host.kind == "gerrit":
        body = body.removeprefix(GERRIT_PREFIX)
    try:
        return json.loads(body), response.headers
    except ValueError:
        raise UnavailableError(f"{name} answered something I couldn't read") from None


async def conduit(host: ForgeHost, method: str, params: dict[str, Any], seconds: float) -> Any:
    """Call a Phabricator (Phorge) Conduit method: POST {url}/api/METHOD with the params as
    JSON and the API token (token_env); its `result`, or UnavailableError with its error."""
    import httpx

    client = http.client()
    if client is None:
        raise UnavailableError("Phabricator can't be asked while the bot is not running")
    token = os.environ.get(host.token_env, "") if host.token_env else ""
    body = {**params, "__conduit__": {"token": token}}
    try:
        response = await client.post(f"{host.api}/{method}", timeout=seconds, data={
            "params": json.dumps(body), "output": "json", "__conduit__": "1"})
    except httpx.TimeoutException:
        raise UnavailableError(f"Phabricator did not answer within {seconds:g} seconds"
                               ) from None
    except httpx.HTTPError:
        raise UnavailableError("Phabricator could not be reached") from None
    if response.status_code != 200:
        raise UnavailableError(f"Phabricator answered with an error ({response.status_code})")
    try:
        answer = json.loads(response.content[:MAX_BODY].decode("utf-8", errors="replace"))
    except ValueError:
        raise UnavailableError("Phabricator answered something I couldn't read") from None
    if not isinstance(answer, dict) or answer.get("error_code") or "result" not in answer:
        code = answer.get("error_code") if isinstance(answer, dict) else None
        raise UnavailableError(f"Phabricator refused the request ({code or 'no result'})")
    return answer["result"]


async def phabricator_user(host: ForgeHost, username: str, seconds: float) -> str:
    """The PHID of the account with this username (NotFoundError: none)."""
    found = await conduit(host, "user.search", {"constraints": {"usernames": [username]}},
                          seconds)
    data = found.get("data") if isinstance(found, dict) else None
    if not data or not isinstance(data[0], dict) or not data[0].get("phid"):
        raise NotFoundError("Phabricator has no such account")
    return str(data[0]["phid"])


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _gerrit(data: Any) -> ChangeState:
    status = {"MERGED": "merged", "NEW": "open", "ABANDONED": "abandoned"}[data["status"]]
    message = ""
    revisions = data.get("revisions") or {}
    current = revisions.get(data.get("current_revision") or "") or {}
    message = _text((current.get("commit") or {}).get("message"))
    owner = data.get("owner") or {}
    return ChangeState(status, _text(data["subject"]),  # type: ignore[arg-type]
                       f"{data['subject']}\n{message}", _text(owner.get("username")))


def _github(data: Any) -> ChangeState:
    state = data["state"]
    if data.get("merged") or data.get("merged_at"):
        status: Status = "merged"
    elif state == "open":
        status = "open"
    elif state == "closed":
        status = "abandoned"
    else:
        raise KeyError(state)
    title = _text(data["title"])
    return ChangeState(status, title, f"{title}\n{_text(data.get('body'))}",
                       _text((data.get("user") or {}).get("login")))


def _gitlab(data: Any) -> ChangeState:
    status: Status = {"merged": "merged", "opened": "open", "locked": "open",
                      "closed": "abandoned"}[data["state"]]  # type: ignore[assignment]
    title = _text(data["title"])
    return ChangeState(status, title, f"{title}\n{_text(data.get('description'))}",
                       _text((data.get("author") or {}).get("username")))


async def change_state(ref: ChangeRef, seconds: float) -> ChangeState:
    """Merged, open or abandoned, and what the change says about itself."""
    host = ref.forge.host
    data = await fetch_json(host, ref.api_path, seconds)
    read = {"gerrit": _gerrit, "github": _github, "gitlab": _gitlab}[host.kind]
    try:
        return read(data)
    except (KeyError, TypeError, AttributeError):
        raise UnavailableError(
            f"{NAMES[host.kind]} answered in a shape I don't understand") from None


async def account_exists(host: ForgeHost, username: str, seconds: float) -> bool:
    """Whether the forge has an account with this username."""
    name = quote(username, safe="")
    try:
        if host.kind == "gitlab":
            found = await fetch_json(host, f"/users?username={name}", seconds)
            return isinstance(found, list) and bool(found)
        path = f"/accounts/{name}" if host.kind == "gerrit" else f"/users/{name}"
        found = await fetch_json(host, path, seconds)
    except NotFoundError:
        return False
    return isinstance(found, dict)


async def repo_exists(ref: RepoRef, seconds: float) -> bool:
    try:
        found = await fetch_json(ref.forge.host, ref.api_path, seconds)
    except NotFoundError:
        return False
    return isinstance(found, dict)


async def change_exists(ref: ChangeRef, seconds: float) -> bool:
    try:
        await change_state(ref, seconds)
    except NotFoundError:
        return False
    return True
