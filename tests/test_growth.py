"""The growth path after the first task: stage 4 explained when reached (content/stages.toml),
through the whole app."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.wiring import load_content
from tests.harness import CONTENT, Harness, make_config

# Handbook: the workshop's answers, then its first task.
HANDBOOK = ["!start", "!skip", "!skip", "!skip", "Handbook", "done",
            "[Lumen](https://lumen.test)", "done",
            "https://code.lumen.test/handbook/handbook/-/merge_requests/9"]


async def first_task_done(h: Harness, who: str) -> str:
    await h.script(who, HANDBOOK)
    return await h.say(who, "!done")


async def test_reaching_stage_4_says_what_it_is_what_counts_and_what_comes_next(
        sqlite_url: str) -> None:
    async with Harness(make_config(sqlite_url)) as h:
        reply = await first_task_done(h, "ada")
        assert "You're now on step 4, Get involved. You're part of the project now" in reply
        assert "join your project's meetings and sprints (!events lists them)" in reply
        assert "What counts: every task you finish (3 in all open stage 5); the meetings" in reply
        assert "What comes next: local meetups, regional events" in reply
        status = await h.say("ada", "!status")
        assert "[>] 4. Get involved: 1 task done" in status
        assert "Counts: every task you finish (3 in all open stage 5)" in status
        # The second task is no new stage: no explanation again, only what to do next.
        await h.say("ada", "!task")
        second = await h.say("ada", "!done")
        assert "You're now on step" not in second
        assert "Type !task for another task" in second
        await h.say("ada", "!task")
        third = await h.say("ada", "!done")
        assert "You're now on step 5, Get more involved." in third
        assert "What counts: the events you say yes to" in third


async def test_the_stage_words_come_from_content(tmp_path: Path, sqlite_url: str) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    stages = root / "stages.toml"
    stages.write_text(stages.read_text().replace(
        "You're part of the project now", "Welcome to the team"))
    config = make_config(sqlite_url, content={"path": str(root)})
    async with Harness(config) as h:
        assert "You're now on step 4, Get involved. Welcome to the team" in \
            await first_task_done(h, "ada")
    # Without the file, the built-in words.
    stages.unlink()
    fresh = make_config(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}",
                        content={"path": str(root)})
    async with Harness(fresh) as h:
        reply = await first_task_done(h, "bea")
        assert "You're now on step 4, Get involved. More tasks, at your own pace." in reply


def test_a_stages_file_with_a_stage_missing_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    stages = root / "stages.toml"
    text = stages.read_text()
    stages.write_text(text[:text.rindex("[[stages]]")])
    with pytest.raises(ContentError) as err:
        load_content(root)
    assert any(str(p).startswith("content/stages.toml: stages:") for p in err.value.problems), \
        err.value.problems
