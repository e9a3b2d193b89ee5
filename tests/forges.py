"""Local stand-ins for forges' REST APIs on 127.0.0.1, serving the real response shapes:
Gerrit's ChangeInfo and AccountInfo behind its `)]}'` prefix (GET /changes/{id},
/accounts/{username}), GitHub's pull request and repository (GET /repos/{owner}/{repo}/pulls/{n},
/repos/{owner}/{repo}) and GitLab's merge request and project (GET
/projects/{id}/merge_requests/{iid}, /projects/{id}). Tests change `changes`, `accounts`,
`repos` and `mode` while the bot runs.

For linked accounts (`!forge`): profiles where a code may be put (GitHub's user bio and gists,
GitLab's user bio and status, Gerrit's account status), and contributions counted as the
real APIs count them: GitHub's issue search (`total_count`), GitLab's merge request and issue
listings (the `X-Total` header), Gerrit's change query (a list, `_more_changes` on the last),
Phabricator's Conduit (POST /api/METHOD with a token: user.search, paste.search,
differential.revision.search, maniphest.search; `result.data` paged by `cursor.after`, errors
as `error_code` with HTTP 200)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

GERRIT_PREFIX = ")]}'\n"


@dataclass
class Change:
    """One change as a forge keeps it: "merged", "open" or "abandoned"."""

    status: str
    title: str
    description: str = ""
    author: str = "ada"


@dataclass
class Profile:
    """What an account says about itself: GitHub's bio and gists' descriptions, GitLab's bio
    and status message, Gerrit's status."""

    bio: str = ""
    status: str = ""
    gists: list[str] = field(default_factory=list)
    user_id: int = 1


@dataclass(frozen=True)
class Contribution:
    """One contribution by `user` on a forge at `at`: "merged" (a change of theirs merged),
    "review" (a review of someone else's change), "closed" (a task assigned to them closed)."""

    kind: str
    what: str
    user: str
    at: datetime


@dataclass
class Forges:
    port: int = 0
    # (kind, project, number) -> Change; kind is gerrit, github or gitlab
    changes: dict[tuple[str, str, int], Change] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)  # Gerrit usernames
    repos: set[str] = field(default_factory=set)  # GitHub owner/repo, GitLab namespace/project
    profiles: dict[tuple[str, str], Profile] = field(default_factory=dict)  # (kind, user)
    contributions: list[Contribution] = field(default_factory=list)
    # "ok", "down" (503), "slow" (answers after 5 s), "garbage", "limited" (403, rate limit)
    mode: str = "ok"
    requests: list[str] = field(default_factory=list)

    conduit_token: str = "api-testtoken"  # what Conduit accepts

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self, **extra: object) -> dict[str, Any]:
        """A [forge] section on this stand-in. It answers at once; the generous timeout keeps
        a loaded CI machine from leaving a read unanswered (one timed out under load)."""
        return {"hosts": self.hosts(), "timeout_seconds": 5.0, **extra}

    def hosts(self, projects: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
        """The [forge] hosts table pointing at this stand-in."""
        return {
            "gerrit": {"kind": "gerrit", "url": f"{self.base}/r", "projects": list(projects)},
            "github": {"kind": "github", "url": f"{self.base}/gh",
                       "api_url": f"{self.base}/ghapi", "projects": list(projects)},
            "gitlab": {"kind": "gitlab", "url": f"{self.base}/gl", "projects": list(projects)},
            "phabricator": {"kind": "phabricator", "url": f"{self.base}/ph",
                            "token_env": "WAYFINDER_TEST_PHAB_TOKEN"},
        }

    # -- the handlers ----------------------------------------------------------------------
    async def _trouble(self) -> web.Response | None:
        if self.mode == "down":
            return web.Response(status=503, text="Service Unavailable")
        if self.mode == "limited":  # GitHub's answer once a rate limit is used up
            return web.json_response(
                {"message": "API rate limit exceeded for 127.0.0.1.",
                 "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
                status=403, headers={"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0",
                                     "x-ratelimit-reset": "1893456000"})
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "garbage":
            return web.Response(status=200, text="<html>Proxy error</html>",
                                content_type="text/html")
        return None

    async def gerrit_change(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        ident = unquote(request.match_info["id"])
        project, _, number = ident.rpartition("~")
        change = next(((p, n, c) for (k, p, n), c in self.changes.items()
                       if k == "gerrit" and str(n) == number and project in ("", p)), None)
        if change is None:
            return web.Response(status=404, text=f"Not found: {ident}\n")
        p, n, c = change
        sha = f"{n:040d}"
        info = {
            "id": f"{p.replace('/', '%2F')}~master~I{n:040x}", "project": p, "branch": "master",
            "change_id": f"I{n:040x}", "subject": c.title,
            "status": {"merged": "MERGED", "open": "NEW", "abandoned": "ABANDONED"}[c.status],
            "created": "2026-11-20 10:00:00.000000000", "updated": "2026-11-29 10:00:00.000000000",
            "insertions": 3, "deletions": 1, "_number": n,
            "owner": {"_account_id": 1000096, "name": c.author.title(), "username": c.author},
            "current_revision": sha,
            "revisions": {sha: {"kind": "REWORK", "_number": 2, "ref": f"refs/changes/{n}",
                                "commit": {"subject": c.title,
                                           "message": f"{c.title}\n\n{c.description}\n\n"
                                                      f"Change-Id: I{n:040x}\n"}}},
        }
        return web.Response(text=GERRIT_PREFIX + json.dumps(info),
                            content_type="application/json")

    async def gerrit_account(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        name = request.match_info["name"]
        profile = self.profiles.get(("gerrit", name))
        if name not in self.accounts and profile is None:
            return web.Response(status=404, text=f"Account '{name}' not found\n")
        info: dict[str, Any] = {"_account_id": 1000001, "name": name.title(), "username": name}
        if profile is not None and profile.status:
            info["status"] = profile.status
        return web.Response(text=GERRIT_PREFIX + json.dumps(info),
                            content_type="application/json")

    async def github_pull(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        number = int(request.match_info["number"])
        change = self.changes.get(("github", repo, number))
        if change is None:
            return web.json_response({"message": "Not Found", "documentation_url":
                                      "https://docs.github.com/rest/pulls/pulls#get-a-pull-request",
                                      "status": "404"}, status=404)
        merged = change.status == "merged"
        return web.json_response({
            "url": f"{self.base}/ghapi/repos/{repo}/pulls/{number}", "number": number,
            "state": "open" if change.status == "open" else "closed", "locked": False,
            "title": change.title, "body": change.description or None,
            "user": {"login": change.author, "id": 1, "type": "User"},
            "merged": merged, "merged_at": "2026-11-29T10:00:00Z" if merged else None,
            "draft": False, "head": {"ref": "fix"}, "base": {"ref": "main"},
        })

    async def github_repo(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if repo not in self.repos:
            return web.json_response({"message": "Not Found", "status": "404"}, status=404)
        return web.json_response({"id": 1, "full_name": repo, "private": False, "fork": True,
                                  "owner": {"login": repo.split("/")[0]}})

    async def gitlab(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        project = unquote(request.match_info["project"])
        iid = request.match_info.get("iid")
        if iid is None:
            if project not in self.repos:
                return web.json_response({"message": "404 Project Not Found"}, status=404)
            return web.json_response({"id": 7, "path_with_namespace": project})
        change = self.changes.get(("gitlab", project, int(iid)))
        if change is None:
            return web.json_response({"message": "404 Not found"}, status=404)
        return web.json_response({
            "id": 9000 + int(iid), "iid": int(iid), "project_id": 7, "title": change.title,
            "description": change.description,
            "state": {"merged": "merged", "open": "opened", "abandoned": "closed"}[change.status],
            "author": {"id": 1, "username": change.author, "name": change.author.title()},
            "web_url": f"{self.base}/gl/{project}/-/merge_requests/{iid}",
        })


    def _count(self, kind: str, what: str, user: str, since: datetime) -> int:
        return sum(1 for c in self.contributions if (c.kind, c.what) == (kind, what)
                   and c.user.lower() == user.lower() and c.at >= since)

    async def github_user(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        name = request.match_info["name"]
        profile = self.profiles.get(("github", name))
        if profile is None:
            return web.json_response({"message": "Not Found", "status": "404"}, status=404)
        if request.path.endswith("/gists"):
            return web.json_response([
                {"id": f"g{n}", "public": True, "description": text,
                 "files": {f"notes-{n}.md": {"filename": f"notes-{n}.md"}},
                 "owner": {"login": name}} for n, text in enumerate(profile.gists)])
        return web.json_response({"login": name, "id": profile.user_id, "type": "User",
                                  "name": name.title(), "bio": profile.bio or None,
                                  "public_repos": 3})

    async def github_search(self, request: web.Request) -> web.Response:
        """GET /search/issues?q=...: the qualifiers the metrics use, counted."""
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        terms = dict(t.split(":", 1) for t in request.query["q"].split() if ":" in t)
        since = datetime.fromisoformat(next(v for k, v in terms.items() if k in (
            "merged", "updated", "closed")).removeprefix(">=")).replace(tzinfo=UTC)
        if terms.get("is") == "merged":
            n = self._count("github", "merged", terms["author"], since)
        elif "reviewed-by" in terms:
            n = self._count("github", "review", terms["reviewed-by"], since)
        elif terms.get("type") == "issue":
            n = self._count("github", "closed", terms["assignee"], since)
        else:
            return web.json_response({"message": "Validation Failed"}, status=422)
        return web.json_response({"total_count": n, "incomplete_results": False, "items": []})

    async def gitlab_users(self, request: web.Request) -> web.Response:
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        if "id" not in request.match_info:  # /users?username=NAME: a list, maybe empty
            name = request.query.get("username", "")
            profile = self.profiles.get(("gitlab", name))
            return web.json_response([] if profile is None else [
                {"id": profile.user_id, "username": name, "name": name.title(),
                 "state": "active"}])
        found = [(name, p) for (kind, name), p in self.profiles.items()
                 if kind == "gitlab" and str(p.user_id) == request.match_info["id"]]
        if not found:
            return web.json_response({"message": "404 User Not Found"}, status=404)
        name, profile = found[0]
        if request.path.endswith("/status"):
            return web.json_response({"emoji": "speech_balloon", "availability": None,
                                      "message": profile.status or None})
        return web.json_response({"id": profile.user_id, "username": name, "bio": profile.bio})

    async def gitlab_listing(self, request: web.Request) -> web.Response:
        """GET /merge_requests or /issues (scope=all): counted in the X-Total header."""
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        q = request.query
        since = datetime.fromisoformat(q["updated_after"])
        if request.path.endswith("/issues"):
            n = self._count("gitlab", "closed", q["assignee_username"], since)
        elif "reviewer_username" in q:
            n = self._count("gitlab", "review", q["reviewer_username"], since)
        else:
            n = self._count("gitlab", "merged", q["author_username"], since)
        return web.json_response([{"iid": i} for i in range(min(n, int(q["per_page"])))],
                                 headers={"X-Total": str(n), "X-Page": "1"})

    async def gerrit_query(self, request: web.Request) -> web.Response:
        """GET /changes/?q=owner:U status:merged after:"..." (or reviewedby:U -owner:U)."""
        self.requests.append(str(request.rel_url))
        if (trouble := await self._trouble()) is not None:
            return trouble
        query = request.query["q"]
        limit = int(request.query.get("n", "500"))
        since = datetime.fromisoformat(query.split('after:"', 1)[1].rstrip('"')).replace(
            tzinfo=UTC)
        terms = dict(t.split(":", 1) for t in query.split() if ":" in t and '"' not in t)
        if "reviewedby" in terms:
            n = self._count("gerrit", "review", terms["reviewedby"], since)
        else:
            n = self._count("gerrit", "merged", terms["owner"], since)
        changes: list[dict[str, Any]] = [{"_number": i, "status": "MERGED"}
                                         for i in range(min(n, limit))]
        if n > limit:
            changes[-1]["_more_changes"] = True
        return web.Response(text=GERRIT_PREFIX + json.dumps(changes),
                            content_type="application/json")


    async def conduit(self, request: web.Request) -> web.Response:
        """Conduit: the params as JSON in the form, the token inside them."""
        method = request.match_info["method"]
        self.requests.append(f"/ph/api/{method}")
        if (trouble := await self._trouble()) is not None:
            return trouble
        form = await request.post()
        params = json.loads(str(form["params"]))
        if (params.get("__conduit__") or {}).get("token") != self.conduit_token:
            return web.json_response({"result": None, "error_code": "ERR-INVALID-AUTH",
                                      "error_info": "API token is invalid."})
        found = params.get("constraints") or {}
        users = {name: f"PHID-USER-{p.user_id:020d}" for (kind, name), p in self.profiles.items()
                 if kind == "phabricator"}
        by_phid = {phid: name for name, phid in users.items()}
        data: list[dict[str, Any]]
        if method == "user.search":
            data = [{"id": n, "type": "USER", "phid": users[name],
                     "fields": {"username": name, "realName": name.title()}}
                    for n, name in enumerate(found.get("usernames", [])) if name in users]
        elif method == "paste.search":
            data = [{"id": n, "type": "PSTE", "phid": f"PHID-PSTE-{n}",
                     "fields": {"title": title, "authorPHID": phid}}
                    for phid in found.get("authorPHIDs", []) if phid in by_phid
                    for n, title in enumerate(self.profiles["phabricator",
                                                            by_phid[phid]].gists)]
        else:
            since = datetime.fromtimestamp(int(found["modifiedStart"]), UTC)
            if method == "maniphest.search":
                who, what = found["assigned"][0], "closed"
            elif "reviewerPHIDs" in found:
                who, what = found["reviewerPHIDs"][0], "review"
            else:
                who, what = found["authorPHIDs"][0], "merged"
            many = self._count("phabricator", what, by_phid.get(who, ""), since)
            data = [{"id": n, "phid": f"PHID-DREV-{n}", "fields": {"authorPHID": "PHID-X"}}
                    for n in range(many)]
        start = int(params.get("after") or 0)
        limit = int(params.get("limit") or 100)
        page = data[start:start + limit]
        after = str(start + limit) if start + limit < len(data) else None
        return web.json_response({"result": {"data": page, "cursor": {
            "limit": limit, "after": after, "before": None}}, "error_code": None,
            "error_info": None})


@asynccontextmanager
async def running_forges() -> AsyncIterator[Forges]:
    forges = Forges()
    app = web.Application()
    app.add_routes([
        web.get("/r/changes/", forges.gerrit_query),
        web.get("/r/changes/{id}", forges.gerrit_change),
        web.get("/r/accounts/{name}", forges.gerrit_account),
        web.get("/ghapi/repos/{owner}/{repo}/pulls/{number}", forges.github_pull),
        web.get("/ghapi/repos/{owner}/{repo}", forges.github_repo),
        web.get("/ghapi/users/{name}", forges.github_user),
        web.get("/ghapi/users/{name}/gists", forges.github_user),
        web.get("/ghapi/search/issues", forges.github_search),
        web.get("/gl/api/v4/users", forges.gitlab_users),
        web.get("/gl/api/v4/users/{id}", forges.gitlab_users),
        web.get("/gl/api/v4/users/{id}/status", forges.gitlab_users),
        web.get("/gl/api/v4/merge_requests", forges.gitlab_listing),
        web.get("/gl/api/v4/issues", forges.gitlab_listing),
        web.post("/ph/api/{method}", forges.conduit),
        web.get("/gl/api/v4/projects/{project}/merge_requests/{iid}", forges.gitlab),
        web.get("/gl/api/v4/projects/{project}", forges.gitlab),
    ])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    forges.port = int(runner.addresses[0][1])
    try:
        yield forges
    finally:
        await runner.cleanup()
