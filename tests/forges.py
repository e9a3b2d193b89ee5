"""Local stand-ins for forges' REST APIs on 127.0.0.1, serving the real response shapes:
Gerrit's ChangeInfo and AccountInfo behind its `)]}'` prefix (GET /changes/{id},
/accounts/{username}), GitHub's pull request and repository (GET /repos/{owner}/{repo}/pulls/{n},
/repos/{owner}/{repo}) and GitLab's merge request and project (GET
/projects/{id}/merge_requests/{iid}, /projects/{id}). Tests change `changes`, `accounts`,
`repos` and `mode` while the bot runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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
class Forges:
    port: int = 0
    # (kind, project, number) -> Change; kind is gerrit, github or gitlab
    changes: dict[tuple[str, str, int], Change] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)  # Gerrit usernames
    repos: set[str] = field(default_factory=set)  # GitHub owner/repo, GitLab namespace/project
    mode: str = "ok"  # "ok", "down" (503), "slow" (answers after 5 s), "garbage"
    requests: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hosts(self, projects: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
        """The [forge] hosts table pointing at this stand-in."""
        return {
            "gerrit": {"kind": "gerrit", "url": f"{self.base}/r", "projects": list(projects)},
            "github": {"kind": "github", "url": f"{self.base}/gh",
                       "api_url": f"{self.base}/ghapi", "projects": list(projects)},
            "gitlab": {"kind": "gitlab", "url": f"{self.base}/gl", "projects": list(projects)},
        }

    # -- the handlers ----------------------------------------------------------------------
    async def _trouble(self) -> web.Response | None:
        if self.mode == "down":
            return web.Response(status=503, text="Service Unavailable")
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
        if name not in self.accounts:
            return web.Response(status=404, text=f"Account '{name}' not found\n")
        info = {"_account_id": 1000001, "name": name.title(), "username": name}
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


@asynccontextmanager
async def running_forges() -> AsyncIterator[Forges]:
    forges = Forges()
    app = web.Application()
    app.add_routes([
        web.get("/r/changes/{id}", forges.gerrit_change),
        web.get("/r/accounts/{name}", forges.gerrit_account),
        web.get("/ghapi/repos/{owner}/{repo}/pulls/{number}", forges.github_pull),
        web.get("/ghapi/repos/{owner}/{repo}", forges.github_repo),
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
