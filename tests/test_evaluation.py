"""Evaluation: "what brings you here?" at a first !start (choices, own words, or skipped), a 1-5
rating with an optional comment after each workshop step and a finished task (offered once,
taken once), and `wayfinder report feedback`."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from flows.path.records import FeedbackRow
from services.feedback import feedback_report
from tests.harness import CONTENT, Harness, make_config

TO_PAGEBOT = ["!skip", "!skip", "!skip", "Pagebot"]


async def test_what_brings_you_here_is_asked_once_at_a_first_start(db_url: str) -> None:
    config = make_config(db_url, flows={"ask_motive": True})
    async with Harness(config) as bot:
        reply = await bot.say("ada", "!start")
        assert reply.startswith("Hi, I'm Wayfinder!")
        assert "Before we start: what brings you here? Pick one, tell me in your own words, " \
               "or type !skip." in reply
        assert "2) Experience for my CV or career" in reply
        reply = await bot.say("ada", "2")
        assert reply.startswith("Thanks, that helps the program understand newcomers.")
        assert "Three quick questions to find projects that fit you." in reply
        assert "What are you interested in?" in reply
        assert "What brings you" not in await bot.say("ada", "!start over")

        reply = await bot.say("bo", "!start")
        assert "what brings you here?" in reply
        assert "Here you can use: !skip" in await bot.say("bo", "!nonsense")  # not an answer
        reply = await bot.say("bo", "A friend   said it's fun")
        assert "What are you interested in?" in reply

        await bot.say("cy", "!start")
        reply = await bot.say("cy", "!skip")
        assert "Thanks" not in reply
        assert "What are you interested in?" in reply

        report = await feedback_report(bot.config)
        assert report.motives == {"career": 1, "own-words": 1}
        assert [(c.kind, c.answer, c.comment) for c in report.comments] == [
            ("motive", "own-words", "A friend said it's fun")]


async def test_each_step_and_the_task_can_be_rated_once(db_url: str, tmp_path: Path) -> None:
    async with Harness(make_config(db_url)) as bot:
        await bot.script("ada", ["!start", *TO_PAGEBOT])
        assert "nothing to rate" in await bot.say("ada", "!rate 5")
        reply = await bot.say("ada", "done")  # step 1 passed
        assert "Checkpoint passed. Nice work!" in reply
        assert "How was this step? If you like, rate it from 1 (poor) to 5 (great): !rate 4" \
            in reply
        assert "step 2 of 6, Get the code" in reply
        assert "Rate from 1 (poor) to 5 (great)" in await bot.say("ada", "!rate 9")
        assert "Rate from 1 (poor) to 5 (great)" in await bot.say("ada", "!rate")
        reply = await bot.say("ada", "!rate 4   the install   notes were clear")
        assert reply == "Thanks for rating it 4/5: your comment goes to the program's organizers."
        assert "nothing to rate" in await bot.say("ada", "!rate 5")  # never twice
        reply = await bot.say("ada", "main")  # step 2: offered, and skipped by carrying on
        assert "How was this step?" in reply
        assert "How was this step?" in await bot.say("ada", "!1")  # step 3: offered
        assert await bot.say("ada", "!rate 2") == "Thanks for rating it 2/5."
        await bot.script("ada", ["pytest tests/unit", "!skip"])
        reply = await bot.say("ada", "https://code.lumen.test/pagebot/pagebot/-/merge_requests/7")
        assert "Congratulations!" in reply
        assert "How was the last step? If you like, rate it" in reply  # with them
        reply = await bot.say("ada", "!done")
        assert "Well done" in reply
        assert "How was your task? If you like, rate it" in reply
        assert await bot.say("ada", "!rate 5 great mentor") == (
            "Thanks for rating it 5/5: your comment goes to the program's organizers.")

        # Bo rates the first step too: the report counts per step, per task, per project.
        await bot.script("bo", ["!start", *TO_PAGEBOT, "done"])
        assert await bot.say("bo", "!rate 2 pip failed") == (
            "Thanks for rating it 2/5: your comment goes to the program's organizers.")

        report = await feedback_report(bot.config)
        steps = {(r.project_id, r.subject): (r.count, r.mean, r.scores) for r in report.steps}
        assert steps == {
            ("pagebot", "pagebot-get-started/install"): (2, 3.0, (0, 1, 0, 1, 0)),
            ("pagebot", "pagebot-get-started/venv"): (1, 2.0, (0, 1, 0, 0, 0)),
        }
        [task] = report.tasks
        assert (task.project_id, task.count, task.mean) == ("pagebot", 1, 5.0)
        [project] = report.projects
        assert (project.project_id, project.count, project.scores) == ("pagebot", 4,
                                                                        (0, 2, 0, 1, 1))
        assert [c.comment for c in report.comments] == [
            "pip failed", "great mentor", "the install notes were clear"]  # newest first
        assert all(isinstance(c, FeedbackRow) for c in report.comments)

        # The command line shows the same, naming no one.
        out = await asyncio.to_thread(_report_cli, db_url, tmp_path)
        for title in ("Ratings per project", "Ratings per workshop step", "Ratings per task",
                      "Comments"):
            assert title in out
        assert "pagebot-get-started/install" in out
        assert "great mentor" in out
        assert "ada" not in out
        assert "memory:" not in out
        # Its CSV has every table, a section column saying which; the chart, a bar per project.
        rows = list(csv.reader(io.StringIO((tmp_path / "feedback.csv").read_text("utf-8"))))
        assert rows[0][:5] == ["section", "project", "subject", "ratings", "mean"]
        assert ["project", "pagebot", "", "4", "3.25", "0", "2", "0", "1", "1", "", ""] in rows
        assert ["step", "pagebot", "pagebot-get-started/install", "2", "3.00", "0", "1", "0",
                "1", "0", "", ""] in rows
        assert [r[-1] for r in rows if r[0] == "comment"] == [
            "pip failed", "great mentor", "the install notes were clear"]
        assert not any("memory:" in cell for row in rows for cell in row)
        svg = (tmp_path / "feedback.svg").read_text("utf-8")
        assert "Newcomers' ratings per project (mean of 1-5)" in svg
        assert "pagebot (4)" in svg
        assert svg.count('id="bar-') == 1
        assert "Chart written to" in out


def _report_cli(db_url: str, tmp_path: Path) -> str:
    config = tmp_path / "wayfinder.toml"
    config.write_text(f'[storage]\nurl = "{db_url}"\n[content]\npath = "{CONTENT}"\n')
    shown = subprocess.run([sys.executable, "-m", "bot", "report", "feedback", "-c",
                            str(config), "--csv", str(tmp_path / "feedback.csv"), "--chart",
                            str(tmp_path / "feedback.svg")], capture_output=True, text=True,
                           timeout=60,
                           env={**os.environ, "COLUMNS": "200"}, check=False)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout
