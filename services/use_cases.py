"""The use cases the features' command-line commands call, in one place: `wayfinder` hands
this module to them (bot/clikit.py CliContext.uses), and each feature checks it against the
protocol its cli module declares (e.g. flows/mentoring/cli.py MentoringUseCases)."""

from __future__ import annotations

from services.broadcast import broadcast_now, broadcast_preview, delivery_of
from services.buddies import buddy_pairs
from services.charts import render_chart
from services.crm import (
    mentoring_chart,
    people,
    people_csv,
    people_json,
    person_lines,
    report,
)
from services.feedback import feedback_chart, feedback_csv, feedback_report
from services.privacy import person_export
from services.reports import mentoring_report, revoke_certificate, verify_certificate
from services.tracker import task_sources

__all__ = ["broadcast_now", "broadcast_preview", "buddy_pairs", "delivery_of", "feedback_chart",
           "feedback_csv", "feedback_report",
           "mentoring_chart", "mentoring_report", "people", "people_csv", "people_json",
           "person_export", "person_lines", "render_chart", "report", "revoke_certificate",
           "task_sources", "verify_certificate"]
