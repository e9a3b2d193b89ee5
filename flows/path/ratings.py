"""Newcomers' feedback summed up for `wayfinder report feedback` (services/feedback.py reads
the store): ratings per workshop step, per task and per project, and what brings them."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.path.records import FeedbackGroup, FeedbackRow


@dataclass(frozen=True)
class Rating:
    """Ratings of one thing (a step, a task, a whole project)."""

    project_id: str
    subject: str  # "workshop/step", a task id, or "" for a project's total
    count: int
    total: int
    scores: tuple[int, ...]  # how many gave 1, 2, 3, 4, 5

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass(frozen=True)
class FeedbackReport:
    steps: list[Rating] = field(default_factory=list)
    tasks: list[Rating] = field(default_factory=list)
    projects: list[Rating] = field(default_factory=list)
    motives: dict[str, int] = field(default_factory=dict)  # answer -> how many
    comments: list[FeedbackRow] = field(default_factory=list)  # newest first


def summarise(groups: list[FeedbackGroup], comments: list[FeedbackRow]) -> FeedbackReport:
    report = FeedbackReport(comments=comments)
    per_project: dict[str, list[int]] = {}
    for group in groups:
        if group.kind == "motive":
            report.motives[group.answer] = report.motives.get(group.answer, 0) + group.count
            continue
        rating = Rating(group.project_id, group.subject, group.count, group.total, group.scores)
        (report.steps if group.kind == "step" else report.tasks).append(rating)
        sums = per_project.setdefault(group.project_id, [0, 0, 0, 0, 0, 0, 0])
        sums[0] += group.count
        sums[1] += group.total
        for index, many in enumerate(group.scores):
            sums[2 + index] += many
    report.projects.extend(Rating(project, "", s[0], s[1], tuple(s[2:]))
                           for project, s in sorted(per_project.items()))
    return report
