"""`wayfinder report feedback`: newcomers' ratings per workshop step, per task and per
project, what brought them (answers to "what brings you here?"), and their comments. No
person is named: the rows carry no identity. As CSV (`--csv`) and as a chart of the mean
rating per project (`--chart`)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from bot.charts import Chart
from bot.config import Config
from flows.path.ratings import FeedbackReport, summarise
from services.store import maintenance_store


async def feedback_report(config: Config, since: datetime | None = None,
                          until: datetime | None = None, comments: int = 200) -> FeedbackReport:
    async with maintenance_store(config) as store:
        groups = await store.feedback_groups(since, until)
        said = await store.feedback_comments(since, until, comments)
    return summarise(groups, said)


def feedback_csv(report: FeedbackReport) -> str:
    """The whole report as one CSV, a `section` column saying which table a row is from:
    ratings per project, step and task (count, mean, how many gave 1..5), what brings them
    (answer, people) and the comments (date, score, comment)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "project", "subject", "ratings", "mean", "1", "2", "3", "4",
                     "5", "date", "comment"])
    for section, rows in (("project", report.projects), ("step", report.steps),
                          ("task", report.tasks)):
        for r in rows:
            writer.writerow([section, r.project_id, r.subject, r.count, f"{r.mean:.2f}",
                             *r.scores, "", ""])
    for answer, many in sorted(report.motives.items(), key=lambda item: (-item[1], item[0])):
        writer.writerow(["motive", "", answer, many, "", "", "", "", "", "", "", ""])
    for c in report.comments:
        writer.writerow(["comment", c.project_id, "what brings them" if c.kind == "motive"
                         else c.subject, "", "" if c.score is None else c.score, "", "", "", "",
                         "", f"{c.at:%Y-%m-%d}", c.comment])
    return out.getvalue()


def feedback_chart(report: FeedbackReport) -> Chart:
    """The mean rating (1-5) per project, each label with its number of ratings."""
    rows = sorted(report.projects, key=lambda r: (-r.count, r.project_id))
    return Chart("Newcomers' ratings per project (mean of 1-5)", "project (ratings)",
                 "mean rating", [f"{r.project_id or '-'} ({r.count})" for r in rows],
                 {"mean rating": [round(r.mean, 1) for r in rows]})
