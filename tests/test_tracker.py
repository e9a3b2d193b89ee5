"""Live task sources (flows/tracker): read from local stand-ins of GitHub, GitLab and
Phabricator (tests/tracker_standins.py), cached, refreshed in the background, checked at
hand-off; static [[tasks]] as the fallback."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.content import ContentError
from bot.wiring import describe_content, load_content
from flows.tracker.content import TrackerContent
from flows.tracker.service import TrackerService
from tests.harness import CONTENT, Harness, make_config
from tests.tracker_standins import (
    RESET_EPOCH,
    Trackers,
    github_issue,
    gitlab_issue,
    phab_task,
    serving,
)

HANDBOOK_TO_TASK = ["!start", "!skip", "!skip", "!skip", "Handbook", "done",
                    "[Lumen](https://lumen.test)", "done"]
REVIEW_LINK = "https://code.lumen.test/handbook/handbook/-/merge_requests/3"


def content_with(tmp_path: Path, sources: str, project: str = "handbook") -> Path:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "projects" / f"{project}.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + sources, encoding="utf-8")
    return folder


def github_source(url: str, extra: str = "") -> str:
    return (f'[[task_sources]]\nkind = "github"\nrepo = "lumen/handbook"\nurl = "{url}"\n'
            f'labels = ["good first issue"]\n{extra}\n')


@pytest.fixture
async def trackers() -> AsyncIterator[Trackers]:
    async with serving(Trackers()) as running:
        yield running


def harness(db_url: str, folder: Path, **tracker: Any) -> Harness:
    config = make_config(db_url, content={"path": str(folder)}, tracker=tracker)
    return Harness(config)


def service(h: Harness) -> TrackerService:
    found = h.running.services["tracker"]
    assert isinstance(found, TrackerService)
    return found


async def refresh(h: Harness) -> int:
    started = await service(h).tick()
    await service(h).settle()
    return started


# -- content check ----------------------------------------------------------------------------
def test_content_check_names_the_file_and_key_of_every_bad_source(tmp_path: Path) -> None:
    folder = content_with(tmp_path, "\n".join([
        '[[task_sources]]\nkind = "github"\nrepo = "not a repo"',
        '[[task_sources]]\nkind = "jira"\nurl = "https://jira.test"',
        '[[task_sources]]\nkind = "phabricator"\nurl = "https://phab.test"\ntag = "easy"',
        '[[task_sources]]\nkind = "gitlab"\nproject = "g/p"\ntoken_env = "not-a-name"',
        '[[task_sources]]\nkind = "gitlab"\nproject = "g/q"\nlables = ["typo"]',
    ]))
    with pytest.raises(ContentError) as caught:
        load_content(folder)
    problems = {(p.file, p.key): p.reason for p in caught.value.problems}
    file = "content/projects/handbook.toml"
    assert "should match pattern" in problems[(file, "task_sources[0].repo")]
    assert "'phabricator', 'phorge', 'github', 'gitlab'" in problems[(file, "task_sources[1]")]
    assert problems[(file, "task_sources[2].token_env")] == "Field required"
    assert "should match pattern" in problems[(file, "task_sources[3].token_env")]
    assert problems[(file, "task_sources[4].lables")] == "unknown key"
    assert all(f == file for f, _k in problems), problems


def test_two_sources_of_one_name_and_a_table_instead_of_a_list_are_refused(
        tmp_path: Path) -> None:
    folder = content_with(tmp_path, github_source("https://a.test") +
                          github_source("https://b.test"))
    with pytest.raises(ContentError, match=r"task_sources\[1\]\.id: two sources are called "
                                           r"'github': give one an id"):
        load_content(folder)
    other = content_with(tmp_path / "x", '[task_sources]\nkind = "github"\nrepo = "a/b"\n')
    with pytest.raises(ContentError, match=r"write \[\[task_sources\]\]"):
        load_content(other)


def test_the_example_sources_load_with_their_label_skills(tmp_path: Path) -> None:
    folder = content_with(tmp_path, github_source(
        "https://api.github.test", 'skills = ["Editing"]\nlabel_skills = { docs = ["writing"] }'
    ) + '[[task_sources]]\nkind = "phorge"\nurl = "https://phorge.test"\ntag = "easy"\n'
        'token_env = "PHORGE_TOKEN"\n')
    content = load_content(folder)
    located = content.of(TrackerContent).sources["handbook"]
    assert [s.key for s in located] == ["handbook/github", "handbook/phorge"]
    assert located[0].source.skills_for(["Docs", "typo"]) == ("editing", "writing", "typo")
    assert located[0].task_id("42") == "handbook-github-42"
    assert located[1].task_id("T17") == "handbook-phorge-t17"
    assert "2 task sources" in describe_content(content)


# -- refresh: paging, tokens, ETag ------------------------------------------------------------
async def test_github_pages_are_read_whole_without_pull_requests_or_assigned_issues(
        db_url: str, trackers: Trackers, tmp_path: Path) -> None:
    label = ("good first issue",)
    trackers.github["lumen/handbook"] = [
        *(github_issue(n, f"Issue {n}", label) for n in range(1, 231)),
        github_issue(300, "A pull request", label, pull=True),
        github_issue(301, "Taken already", label, assignee="kim"),
        github_issue(302, "Not for newcomers", ("bug",))]
    async with harness(db_url, content_with(tmp_path, github_source(trackers.url))) as h:
        assert await refresh(h) == 1
        tasks = await h.running.store.open_live_tasks("handbook")
        assert [t.title for t in tasks] == [f"Issue {n}" for n in range(1, 231)]
        assert tasks[0].task_id == "handbook-github-1"
        assert tasks[0].url == "https://github.test/o/r/issues/1"
        assert tasks[0].skills == ("good first issue",)
        pages = [p for k, p, _h in trackers.requests if k == "github"]
        assert len(pages) == 3  # 231 listed (the PR too) at 100 a page, by the Link header
        assert "assignee=none" in pages[0]
        assert "labels=good+first+issue" in pages[0] or "labels=good%20first" in pages[0]
        assert all("Authorization" not in hdrs for _k, _p, hdrs in trackers.requests)
        standing = {s.source_key: s for s in await h.running.store.source_standings()}
        github = standing["handbook/github"]
        assert (github.refreshed_at, github.error, github.open_tasks) == (h.clock.now, "", 230)
        assert github.etag == ""  # three pages: a 304 on the first would not cover them
        assert github.next_at is not None
        assert timedelta(minutes=27) <= github.next_at - h.clock.now <= timedelta(minutes=33)
        assert await refresh(h) == 0  # not due yet


async def test_one_page_is_asked_again_with_its_etag_and_a_304_keeps_the_cache(
        sqlite_url: str, trackers: Trackers, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDBOOK_GITHUB", "ghp_secret")
    trackers.github["lumen/handbook"] = [github_issue(n, f"Issue {n}", ("good first issue",))
                                         for n in (1, 2)]
    folder = content_with(tmp_path, github_source(trackers.url, 'token_env = "HANDBOOK_GITHUB"'))
    async with harness(sqlite_url, folder) as h:
        await refresh(h)
        first = (await h.running.store.source_standings())[0]
        assert first.etag.startswith('W/"')
        h.clock.advance(hours=1)
        await refresh(h)
        _kind, _path, headers = trackers.requests[-1]
        assert headers["If-None-Match"] == first.etag
        assert headers["Authorization"] == "Bearer ghp_secret"
        assert headers["X-GitHub-Api-Version"] == "2022-11-28"
        again = (await h.running.store.source_standings())[0]
        assert (again.refreshed_at, again.open_tasks, again.error) == (h.clock.now, 2, "")
        assert len(await h.running.store.open_live_tasks("handbook")) == 2


async def test_gitlab_pages_follow_x_next_page_and_leave_out_assigned_and_closed(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.gitlab["lumen/handbook"] = [
        *(gitlab_issue(n, f"GL {n}", ("newcomers", "docs")) for n in range(1, 151)),
        gitlab_issue(200, "Taken", ("newcomers",), assignee="kim"),
        gitlab_issue(201, "Done", ("newcomers",), state="closed")]
    folder = content_with(tmp_path, f'[[task_sources]]\nkind = "gitlab"\nurl = "{trackers.url}"'
                          '\nproject = "lumen/handbook"\nlabels = ["newcomers"]\n'
                          'label_skills = { docs = ["writing", "editing"] }\n')
    async with harness(sqlite_url, folder) as h:
        await refresh(h)
        tasks = await h.running.store.open_live_tasks("handbook")
        assert [t.native_id for t in tasks] == [str(n) for n in range(1, 151)]
        assert tasks[0].skills == ("newcomers", "writing", "editing")
        pages = [p for k, p, _h in trackers.requests if k == "gitlab"]
        assert len(pages) == 2
        assert pages[0].startswith("/api/v4/projects/lumen%2Fhandbook/issues?")
        assert "state=opened" in pages[0]
        assert "assignee_id=None" in pages[0]


async def test_phabricator_pages_follow_the_conduit_cursor_with_the_token(
        sqlite_url: str, trackers: Trackers, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHAB_TOKEN", "api-secret")
    trackers.phab["good-first-task"] = [
        *(phab_task(n, f"Task {n}", tags=("PHID-PROJ-easy", "PHID-PROJ-py"))
          for n in range(1, 251)),
        phab_task(400, "Owned", owner="kim"), phab_task(401, "Resolved", status="resolved")]
    trackers.phab["other"] = [phab_task(500, "Another tag")]
    folder = content_with(tmp_path, f'[[task_sources]]\nkind = "phabricator"\n'
                          f'url = "{trackers.url}"\ntag = "good-first-task"\n'
                          'token_env = "PHAB_TOKEN"\nskills = ["php"]\n'
                          'label_skills = { "PHID-PROJ-py" = ["python"] }\n')
    async with harness(sqlite_url, folder) as h:
        await refresh(h)
        tasks = await h.running.store.open_live_tasks("handbook")
        assert len(tasks) == 250
        assert (tasks[0].native_id, tasks[0].task_id, tasks[0].url) == (
            "T250", "handbook-phabricator-t250", f"{trackers.url}/T250")
        assert tasks[0].skills == ("php", "python")  # an unmapped tag's PHID means nothing
        assert trackers.count("phabricator") == 3
        monkeypatch.setenv("PHAB_TOKEN", "wrong")
        h.clock.advance(hours=1)
        await refresh(h)
        standing = (await h.running.store.source_standings())[0]
        assert standing.error == ('Conduit error ERR-INVALID-AUTH: API token "x" has the '
                                  'wrong format.')
        assert len(await h.running.store.open_live_tasks("handbook")) == 250


# -- trackers that fail: the last good cache is kept ------------------------------------------
async def test_a_rate_limit_keeps_the_cache_and_waits_for_the_reset(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.github["lumen/handbook"] = [github_issue(n, f"Issue {n}", ("good first issue",))
                                         for n in range(1, 6)]
    gitlab = (f'[[task_sources]]\nkind = "gitlab"\nurl = "{trackers.url}"\n'
              'project = "lumen/handbook"\n')
    trackers.gitlab["lumen/handbook"] = [gitlab_issue(1, "GL 1")]
    folder = content_with(tmp_path, github_source(trackers.url) + gitlab)
    async with harness(sqlite_url, folder) as h:
        await refresh(h)
        good = h.clock.now
        trackers.trouble.update(github="rate", gitlab="rate")
        h.clock.advance(hours=1)
        await refresh(h)
        standing = {s.source_key: s for s in await h.running.store.source_standings()}
        reset = datetime.fromtimestamp(RESET_EPOCH, UTC)
        github = standing["handbook/github"]
        assert github.error == "rate limited (HTTP 403) until 2027-01-15 08:00 UTC"
        assert (github.refreshed_at, github.tried_at, github.next_at) == (good, h.clock.now,
                                                                          reset)
        gl = standing["handbook/gitlab"]
        assert gl.error.startswith("rate limited (HTTP 429) until")
        assert gl.next_at == h.clock.now + timedelta(seconds=600)  # Retry-After
        assert len(await h.running.store.open_live_tasks("handbook")) == 6
        h.clock.advance(minutes=11)
        asked = len(trackers.requests)
        assert await refresh(h) == 1  # gitlab again; github waits for its reset
        assert [k for k, _p, _h in trackers.requests[asked:]] == ["gitlab"]


@pytest.mark.parametrize(("trouble", "why"), [
    ("500", "the tracker failed (HTTP 502)"),
    ("garbage", "answered with malformed JSON"),
    ("shape", "answered in an unexpected shape (not a list of issues)"),
])
async def test_a_failing_tracker_keeps_the_last_good_cache_and_says_why(
        sqlite_url: str, trackers: Trackers, tmp_path: Path, trouble: str, why: str) -> None:
    trackers.github["lumen/handbook"] = [github_issue(n, f"Issue {n}", ("good first issue",))
                                         for n in (1, 2, 3)]
    async with harness(sqlite_url, content_with(tmp_path, github_source(trackers.url))) as h:
        await refresh(h)
        trackers.trouble["github"] = trouble
        h.clock.advance(hours=1)
        await refresh(h)
        standing = (await h.running.store.source_standings())[0]
        assert standing.error == why
        assert standing.next_at == h.clock.now + timedelta(minutes=5)  # retry_after
        assert standing.open_tasks == 3
        assert [t.title for t in await h.running.store.open_live_tasks("handbook")] == [
            "Issue 1", "Issue 2", "Issue 3"]


async def test_a_slow_tracker_holds_up_neither_the_tick_nor_a_turn(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.github["lumen/handbook"] = [github_issue(1, "Issue 1", ("good first issue",))]
    trackers.trouble["github"] = "slow"
    trackers.slow_seconds = 2.0
    folder = content_with(tmp_path, github_source(trackers.url))
    async with harness(sqlite_url, folder, request_seconds=0.5) as h:
        began = time.monotonic()
        assert await service(h).tick() == 1
        assert "Hi, I'm Wayfinder" in await h.say("ann", "!start")
        assert time.monotonic() - began < 0.4
        await service(h).settle()
        standing = (await h.running.store.source_standings())[0]
        assert standing.error == "no answer within 0.5 s"
        assert standing.refreshed_at is None


# -- hand-off ---------------------------------------------------------------------------------
def skilled_sources(url: str) -> str:
    return github_source(url, 'label_skills = { docs = ["writing"] }')


async def test_a_live_task_is_handed_out_by_skill_and_one_closed_since_the_refresh_is_not(
        db_url: str, trackers: Trackers, tmp_path: Path) -> None:
    issues = [github_issue(1, "Fix a typo in the README", ("good first issue",)),
              github_issue(2, "Explain rebasing in the glossary", ("good first issue", "docs")),
              github_issue(3, "Add a docs page on review", ("good first issue", "docs"))]
    trackers.github["lumen/handbook"] = issues
    async with harness(db_url, content_with(tmp_path, skilled_sources(trackers.url))) as h:
        await refresh(h)
        issues[1]["state"] = "closed"  # closed on the tracker after the refresh
        reply = await h.script("zed", ["!start", "!skip", "writing", "!skip", *HANDBOOK_TO_TASK[4:],
                                       REVIEW_LINK])
        # Writing wanted: #2 and #3 match; #2 comes first but was closed meanwhile.
        assert "Here is a first task picked for you.\nYour task: Add a docs page on review\n" \
               "Details: https://github.test/o/r/issues/3" in reply
        checked = [p for k, p, _h in trackers.requests if k == "github-check"]
        assert checked == ["/repos/lumen/handbook/issues/2", "/repos/lumen/handbook/issues/3"]
        gone = await h.running.store.live_task("handbook-github-2")
        assert gone is not None
        assert [t.native_id for t in await h.running.store.open_live_tasks("handbook")] == [
            "1", "3"]
        assert "[>] 3. First task: working on" in await h.say("zed", "!status")
        # Held: !task shows it again from the cache, with no new check.
        assert "Your task: Add a docs page on review" in await h.say("zed", "!task")
        assert len([k for k, _p, _h in trackers.requests if k == "github-check"]) == 2
        # Someone else gets the next one: #3 is claimed, #2 gone, so #1.
        reply = await h.script("amy", [*HANDBOOK_TO_TASK, REVIEW_LINK])
        assert "Your task: Fix a typo in the README" in reply


async def test_taken_on_the_tracker_meanwhile_offers_the_next_and_none_left_falls_back(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    issues = [github_issue(1, "Only live task", ("good first issue",))]
    trackers.github["lumen/handbook"] = issues
    async with harness(sqlite_url, content_with(tmp_path, github_source(trackers.url))) as h:
        await refresh(h)
        issues[0]["assignees"] = [{"login": "kim"}]
        reply = await h.script("zed", [*HANDBOOK_TO_TASK, REVIEW_LINK])
        # No live task left: the project's static [[tasks]] are the fallback.
        assert "Your task: Fix the four broken links on the 'Your first patch' page" in reply
        assert await h.running.store.open_live_tasks("handbook") == []


async def test_a_tracker_down_from_the_start_leaves_the_static_tasks(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.trouble["github"] = "500"
    async with harness(sqlite_url, content_with(tmp_path, github_source(trackers.url))) as h:
        await refresh(h)
        reply = await h.script("zed", [*HANDBOOK_TO_TASK, REVIEW_LINK])
        assert "Your task: Fix the four broken links" in reply
        assert trackers.count("github-check") == 0


async def test_a_tracker_too_slow_at_hand_off_gives_the_cached_task_in_time(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.github["lumen/handbook"] = [github_issue(7, "Cached task", ("good first issue",))]
    folder = content_with(tmp_path, github_source(trackers.url))
    async with harness(sqlite_url, folder, handoff_check_seconds=0.3) as h:
        await refresh(h)
        await h.script("zed", HANDBOOK_TO_TASK)
        trackers.trouble["github"] = "slow"
        began = time.monotonic()
        reply = await h.say("zed", REVIEW_LINK)
        assert time.monotonic() - began < 1.5
        assert "Your task: Cached task\nDetails: https://github.test/o/r/issues/7" in reply


async def test_wayfinder_tasks_shows_each_source_last_refresh_and_failure(
        trackers: Trackers, tmp_path: Path) -> None:
    db = tmp_path / "wayfinder.db"
    trackers.github["lumen/handbook"] = [github_issue(1, "One", ("good first issue",))]
    folder = content_with(tmp_path, github_source(trackers.url) + (
        f'[[task_sources]]\nkind = "gitlab"\nurl = "{trackers.url}"\nproject = "gone/away"\n'))
    async with harness(f"sqlite+aiosqlite:///{db}", folder) as h:
        await refresh(h)
    (tmp_path / "wayfinder.toml").write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{db}"\n[content]\npath = "{folder}"\n',
        encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "tasks", cwd=tmp_path, env={**os.environ, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    lines = {line.split("│")[1].strip(): line for line in text.splitlines()
             if "│ handbook/" in line}
    assert "2026-11-02 09:00 UTC" in lines["handbook/github"]
    assert "│ 1 " in lines["handbook/github"]
    assert "never" in lines["handbook/gitlab"]
    assert "not found (HTTP 404): check the repository, project or URL" in lines["handbook/gitlab"]


async def test_the_best_matches_are_ranked_by_the_database_whatever_the_skill_spells(
        db_url: str, tmp_path: Path) -> None:
    from flows.tracker.records import LiveTask, SourceStanding
    from storage.repository import SqlStore

    def task(n: int, *skills: str, source: str = "p/a") -> LiveTask:
        return LiveTask(f"p-a-{n}", source, "p", str(n), f"T{n}", "", skills, n)

    async with SqlStore.open(db_url, durable=False) as store:
        standing = SourceStanding("p/a", "p", "github", None, None, "", None, 0)
        await store.replace_live_tasks(standing, [
            task(1, "c"), task(2, "c_sharp"), task(3, "100%", "c"), task(4, "zürich", "c"),
            task(5, "c%")])
        best = store.best_live_tasks
        assert [t.native_id for t in await best("p", ["p/a"], ["c"], (), 9)] == [
            "1", "3", "4", "2", "5"]
        assert [t.native_id for t in await best("p", ["p/a"], ["C", "zürich"], (), 2)] == [
            "4", "1"]
        assert [t.native_id for t in await best("p", ["p/a"], ["c_sharp"], (), 1)] == ["2"]
        assert [t.native_id for t in await best("p", ["p/a"], ["c%"], ["p-a-5"], 9)][:1] == [
            "1"]
        assert await best("p", ["p/other"], ["c"], (), 9) == []


async def test_the_shared_client_is_taken_only_with_sources_and_given_back_at_stop(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    from bot.http import SHARED_HTTP

    async with Harness(make_config(sqlite_url)) as h:  # the demo content: no sources
        assert await service(h).tick() == 0
        assert service(h).client is None
    users = SHARED_HTTP.users
    trackers.github["lumen/handbook"] = [github_issue(1, "One", ("good first issue",))]
    async with harness(sqlite_url, content_with(tmp_path, github_source(trackers.url))) as h:
        await refresh(h)
        assert SHARED_HTTP.users == users + 1
    assert SHARED_HTTP.users == users


async def test_a_source_taken_out_of_the_content_leaves_the_cache_at_the_next_tick(
        sqlite_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.github["lumen/handbook"] = [github_issue(1, "One", ("good first issue",))]
    folder = content_with(tmp_path, github_source(trackers.url))
    async with harness(sqlite_url, folder) as h:
        await refresh(h)
        assert len(await h.running.store.open_live_tasks("handbook")) == 1
        h.running._use_content(load_content(content_with(tmp_path / "v2", "")))
        assert await refresh(h) == 0
        assert await h.running.store.open_live_tasks("handbook") == []
        assert await h.running.store.source_standings() == []


def test_wayfinder_tasks_without_sources_says_the_static_tasks_are_used(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", "tasks"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "No task sources: projects use their static [[tasks]] only."


async def test_a_live_task_finished_with_done_goes_to_nobody_else_while_still_open(
        db_url: str, trackers: Trackers, tmp_path: Path) -> None:
    trackers.github["lumen/handbook"] = [
        github_issue(1, "First live task", ("good first issue",)),
        github_issue(2, "Second live task", ("good first issue",))]
    async with harness(db_url, content_with(tmp_path, github_source(trackers.url))) as h:
        await refresh(h)
        assert "Your task: First live task" in await h.script("ann", [*HANDBOOK_TO_TASK,
                                                                      REVIEW_LINK])
        assert "Well done" in await h.say("ann", "!done")
        # Still open on the tracker (the change is in review), and still in the cache:
        assert [t.native_id for t in await h.running.store.open_live_tasks("handbook")] == [
            "1", "2"]
        assert "Your task: Second live task" in await h.script("bob", [*HANDBOOK_TO_TASK,
                                                                       REVIEW_LINK])
        assert "/repos/lumen/handbook/issues/1" not in [
            p for k, p, _h in trackers.requests if k == "github-check"][1:]
