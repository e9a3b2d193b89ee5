"""`wayfinder report feedback`: newcomers' ratings per workshop step, per task and per
project, what brought them (answers to "what brings you here?"), and their comments. No
person is named: the rows carry no identity."""

from __future__ import annotations

from datetime import datetime

from bot.config import Config
from flows.path.ratings import FeedbackReport, summarise
from services.store import maintenance_store


async def feedback_report(config: Config, since: datetime | None = None,
                          until: datetime | None = None, comments: int = 200) -> FeedbackReport:
    async with maintenance_store(config) as store:
        groups = await store.feedback_groups(since, until)
        said = await store.feedback_comments(since, until, comments)
    return summarise(groups, said)
