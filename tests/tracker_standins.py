"""Local stand-ins for the trackers' APIs, on 127.0.0.1 (aiohttp test servers), serving the
response shapes the real ones document:

- GitHub REST: GET /repos/{owner}/{repo}/issues (state, labels, assignee=none, per_page, page;
  pull requests are in the list with a `pull_request` key; `Link` rel="next"/"last"; an
  `ETag` answered 304 to If-None-Match; x-ratelimit-* headers) and /issues/{number}.
- GitLab REST: GET /api/v4/projects/{url-encoded path}/issues (state=opened, labels,
  assignee_id=None, per_page, page; X-Page, X-Next-Page, X-Total-Pages) and /issues/{iid}.
- Phabricator / Phorge Conduit: POST /api/maniphest.search (form `params` JSON with
  `__conduit__.token`; constraints ids/projects/statuses; `result.data`, `result.cursor.after`;
  errors as `error_code`/`error_info` with HTTP 200).

`trouble` makes one kind misbehave: "rate" (403 or 429 with a reset), "500", "garbage"
(not JSON), "shape" (JSON of another shape), "slow" (answers after `slow_seconds`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer

RESET_EPOCH = 1_800_000_000  # 2027-01-15 08:00 UTC


def github_issue(number: int, title: str, labels: tuple[str, ...] = (), state: str = "open",
                 assignee: str = "", pull: bool = False) -> dict[str, Any]:
    user = {"login": assignee, "id": 7, "type": "User"} if assignee else None
    issue: dict[str, Any] = {
        "id": 1000 + number, "node_id": f"I_kw{number}", "number": number, "title": title,
        "state": state, "locked": False, "comments": 0, "body": "",
        "url": f"https://api.github.test/repos/o/r/issues/{number}",
        "html_url": f"https://github.test/o/r/issues/{number}",
        "user": {"login": "someone", "id": 1, "type": "User"},
        "labels": [{"id": n, "name": name, "color": "7057ff", "default": False}
                   for n, name in enumerate(labels)],
        "assignee": user, "assignees": [user] if user else [],
        "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-02T10:00:00Z"}
    if pull:
        issue["pull_request"] = {"url": f"https://api.github.test/repos/o/r/pulls/{number}",
                                 "html_url": f"https://github.test/o/r/pull/{number}"}
    return issue


def gitlab_issue(iid: int, title: str, labels: tuple[str, ...] = (), state: str = "opened",
                 assignee: str = "") -> dict[str, Any]:
    user = {"id": 9, "username": assignee, "name": assignee} if assignee else None
    return {"id": 5000 + iid, "iid": iid, "project_id": 42, "title": title, "description": "",
            "state": state, "labels": list(labels), "assignee": user,
            "assignees": [user] if user else [], "author": {"id": 1, "username": "someone"},
            "web_url": f"https://gitlab.test/group/proj/-/issues/{iid}",
            "created_at": "2026-11-01T10:00:00.000Z"}


def phab_task(number: int, title: str, status: str = "open", owner: str = "",
              tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"_tags": list(tags), "id": number, "type": "TASK", "phid": f"PHID-TASK-{number:020d}",
            "fields": {"name": title, "description": {"raw": ""},
                       "authorPHID": "PHID-USER-aaaa",
                       "ownerPHID": f"PHID-USER-{owner}" if owner else None,
                       "status": {"value": status, "name": status.title(), "color": None},
                       "priority": {"value": 50, "name": "Normal", "color": "orange"},
                       "points": None, "subtype": "default", "spacePHID": None,
                       "dateCreated": 1764000000, "dateModified": 1764000000,
                       "policy": {"view": "public", "interact": "users", "edit": "users"}},
            "attachments": []}  # PHP's empty array: a JSON list


@dataclass
class Trackers:
    github: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "o/r" -> issues
    gitlab: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "g/p" -> issues
    phab: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # tag -> tasks
    phab_token: str = "api-secret"
    trouble: dict[str, str] = field(default_factory=dict)  # kind -> what goes wrong
    slow_seconds: float = 5.0
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def count(self, kind: str) -> int:
        return sum(1 for k, _p, _h in self.requests if k == kind)

    async def _trouble(self, kind: str) -> web.Response | None:
        what = self.trouble.get(kind, "")
        if what == "slow":
            await asyncio.sleep(self.slow_seconds)
        if what == "rate" and kind == "github":
            return web.json_response(
                {"message": "API rate limit exceeded for 127.0.0.1.",
                 "documentation_url": "https://docs.github.com/rest/overview/rate-limits"},
                status=403, headers={"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0",
                                     "x-ratelimit-used": "60",
                                     "x-ratelimit-reset": str(RESET_EPOCH)})
        if what == "rate":
            return web.json_response({"message": "429 Too Many Requests"}, status=429,
                                     headers={"Retry-After": "600",
                                              "RateLimit-Reset": str(RESET_EPOCH)})
        if what == "500":
            return web.Response(status=502, text="<html>Bad Gateway</html>",
                                content_type="text/html")
        if what == "garbage":
            return web.Response(text='{"result": {"data": [', content_type="application/json")
        if what == "shape":
            return web.json_response({"items": "not what you expected"})
        return None

    # -- GitHub ----------------------------------------------------------------------------
    async def github_list(self, request: web.Request) -> web.Response:
        self.requests.append(("github", request.path_qs, dict(request.headers)))
        if (bad := await self._trouble("github")) is not None:
            return bad
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        if repo not in self.github:
            return web.json_response({"message": "Not Found"}, status=404)
        q = request.query
        wanted = [x for x in q.get("labels", "").split(",") if x]
        items = [i for i in self.github[repo]
                 if (q.get("state", "open") == "all" or i["state"] == q.get("state", "open"))
                 and all(w in [lab["name"] for lab in i["labels"]] for w in wanted)
                 and (q.get("assignee") != "none" or not i["assignees"])]
        per_page, page = int(q.get("per_page", "30")), int(q.get("page", "1"))
        chunk = items[(page - 1) * per_page: page * per_page]
        body = json.dumps(chunk)
        etag = 'W/"' + hashlib.sha1(body.encode()).hexdigest() + '"'
        headers = {"ETag": etag, "x-ratelimit-limit": "60", "x-ratelimit-remaining": "59",
                   "x-ratelimit-reset": str(RESET_EPOCH)}
        last = max(1, -(-len(items) // per_page))
        base = f"{self.url}/repos/{repo}/issues"
        rest = "&".join(f"{k}={v}" for k, v in q.items() if k != "page")
        links = []
        if page < last:
            links.append(f'<{base}?{rest}&page={page + 1}>; rel="next"')
            links.append(f'<{base}?{rest}&page={last}>; rel="last"')
        if links:
            headers["Link"] = ", ".join(links)
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(text=body, content_type="application/json", headers=headers)

    async def github_one(self, request: web.Request) -> web.Response:
        self.requests.append(("github-check", request.path_qs, dict(request.headers)))
        if (bad := await self._trouble("github")) is not None:
            return bad
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        number = int(request.match_info["number"])
        found = [i for i in self.github.get(repo, []) if i["number"] == number]
        if not found:
            return web.json_response({"message": "Not Found"}, status=404)
        return web.json_response(found[0])

    # -- GitLab ----------------------------------------------------------------------------
    async def gitlab_api(self, request: web.Request) -> web.Response:
        raw = request.raw_path.split("?")[0].removeprefix("/api/v4/projects/")
        project, _, rest = raw.partition("/")
        project = unquote(project)
        kind = "gitlab" if rest == "issues" else "gitlab-check"
        self.requests.append((kind, request.path_qs, dict(request.headers)))
        if (bad := await self._trouble("gitlab")) is not None:
            return bad
        if project not in self.gitlab:
            return web.json_response({"message": "404 Project Not Found"}, status=404)
        issues = self.gitlab[project]
        if rest.startswith("issues/"):
            found = [i for i in issues if str(i["iid"]) == rest.removeprefix("issues/")]
            return (web.json_response(found[0]) if found else
                    web.json_response({"message": "404 Not found"}, status=404))
        q = request.query
        wanted = [x for x in q.get("labels", "").split(",") if x]
        items = [i for i in issues if (q.get("state") in (None, "all") or i["state"] == q["state"])
                 and all(w in i["labels"] for w in wanted)
                 and (q.get("assignee_id") != "None" or not i["assignees"])]
        per_page, page = int(q.get("per_page", "20")), int(q.get("page", "1"))
        last = max(1, -(-len(items) // per_page))
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page),
                   "X-Total": str(len(items)), "X-Total-Pages": str(last),
                   "X-Next-Page": str(page + 1) if page < last else "",
                   "X-Prev-Page": str(page - 1) if page > 1 else ""}
        return web.json_response(items[(page - 1) * per_page: page * per_page], headers=headers)

    # -- Conduit ---------------------------------------------------------------------------
    async def conduit(self, request: web.Request) -> web.Response:
        form = await request.post()
        params = json.loads(str(form.get("params", "{}")))
        constraints = params.get("constraints", {})
        kind = "phabricator-check" if "ids" in constraints else "phabricator"
        self.requests.append((kind, request.path_qs, {"params": str(form.get("params"))}))
        if (bad := await self._trouble("phabricator")) is not None:
            return bad
        if params.get("__conduit__", {}).get("token") != self.phab_token:
            return web.json_response({"result": None, "error_code": "ERR-INVALID-AUTH",
                                      "error_info": "API token \"x\" has the wrong format."})
        tasks = [t for tag in constraints.get("projects", list(self.phab))
                 for t in self.phab.get(tag, [])]
        if "ids" in constraints:
            tasks = [t for tasks_ in self.phab.values() for t in tasks_
                     if t["id"] in constraints["ids"]]
        if "statuses" in constraints:
            tasks = [t for t in tasks if t["fields"]["status"]["value"] in constraints["statuses"]]
        tasks.sort(key=lambda t: -int(t["id"]))  # "newest"
        if params.get("after"):
            tasks = [t for t in tasks if t["id"] < int(params["after"])]
        limit = int(params.get("limit", 100))
        page = tasks[:limit]
        after = str(page[-1]["id"]) if len(tasks) > limit else None
        wanted = params.get("attachments", {})
        page = [{**{k: v for k, v in t.items() if k != "_tags"},
                 "attachments": {"projects": {"projectPHIDs": t["_tags"]}} if wanted.get(
                     "projects") else []} for t in page]
        return web.json_response({"result": {
            "data": page, "maps": {}, "query": {"queryKey": None},
            "cursor": {"limit": limit, "after": after, "before": None, "order": "newest"}},
            "error_code": None, "error_info": None})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/repos/{owner}/{repo}/issues", self.github_list)
        app.router.add_get("/repos/{owner}/{repo}/issues/{number}", self.github_one)
        app.router.add_get("/api/v4/projects/{tail:.*}", self.gitlab_api)
        app.router.add_post("/api/maniphest.search", self.conduit)
        return app


@asynccontextmanager
async def serving(trackers: Trackers) -> AsyncIterator[Trackers]:
    server = TestServer(trackers.app(), host="127.0.0.1")
    await server.start_server()
    trackers.url = str(server.make_url("")).rstrip("/")
    try:
        yield trackers
    finally:
        await server.close()


def bench_trackers(tasks: int) -> Trackers:
    """Two GitHub repositories, two GitLab projects and a Phabricator tag, `tasks` each."""
    labels = (("good first issue", "docs"), ("good first issue", "python"),
              ("good first issue", "javascript"), ("good first issue",))
    made = Trackers()
    for repo in ("bench/r1", "bench/r2"):
        made.github[repo] = [github_issue(n, f"{repo} issue {n}", labels[n % 4])
                             for n in range(1, tasks + 1)]
    for project in ("bench/p1", "bench/p2"):
        made.gitlab[project] = [gitlab_issue(n, f"{project} issue {n}", labels[n % 4])
                                for n in range(1, tasks + 1)]
    made.phab["bench"] = [phab_task(n, f"Phabricator task {n}") for n in range(1, tasks + 1)]
    return made


async def _serve(tasks: int) -> None:
    """Serve bench_trackers on 127.0.0.1 in this process; prints its URL, runs until killed."""
    async with serving(bench_trackers(tasks)) as running:
        print(running.url, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(_serve(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
