"""A person's record, made of what the store holds about them (PersonFacts) and the content
of the moment: the steps they took with dates, their merit, where they are, their networks.
Pure: `!person`, `!me`, `wayfinder person` and the people list all show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.content import Content
from bot.i18n import ENGLISH, N_, Translator
from flows.crm.records import PersonFacts, PersonRow, StageWhere
from flows.path.api import MORE_INVOLVED_AT, STAGES, PathContent, PathState, find_task, stage

# How each progress event reads in the timeline (kinds not listed are not shown): message
# ids, said in the reader's language by record_lines.
STEP_WORDS = {
    "started": N_("started the path"),
    "project_chosen": N_("chose a project"),
    "step_done": N_("passed a workshop step"),
    "step_skipped": N_("skipped a workshop step"),
    "workshop_done": N_("finished the workshop"),
    "task_claimed": N_("took a task"),
    "task_done": N_("finished a task"),
    "task_released": N_("gave a task back"),
    "stopped": N_("left the path"),
    "linked": N_("linked an account"),
    "region": N_("chose a region"),
    "attended": N_("checked in at an event"),
    "paired": N_("was introduced to a peer-programming partner"),
}


@dataclass(frozen=True)
class TaskLine:
    title: str
    url: str
    project: str
    outcome: str  # a message id: "done (self-reported)", "working on it", "released", ...
    at: datetime


@dataclass(frozen=True)
class PersonRecord:
    person_id: int
    identities: tuple[str, ...]  # "network:id", "(unverified)" where the network did not prove it
    networks: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime | None
    cohort: str  # "YYYY-MM" of the first !start, "" if never
    started_at: datetime | None
    project: str  # the project's name (or id if no longer in the content)
    stage: int  # 0-based into STAGES
    region: str
    timezone: str
    left: bool
    timeline: tuple[tuple[datetime, str, str], ...]  # when, what (a message id), its detail
    tasks: tuple[TaskLine, ...]
    certificates: tuple[tuple[str, str, datetime], ...]  # code, workshop, issued
    # Who helped them (help requests claimed): the mentor, the case's code, status and note.
    mentors: tuple[tuple[str, str, str, str], ...]
    events: tuple[tuple[str, datetime], ...]  # events they said yes to
    attended: tuple[tuple[str, datetime], ...] = ()  # events they checked in at (merit)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def tasks_done(self) -> int:
        return sum(1 for t in self.tasks if t.outcome.startswith("done"))


def path_state(state: dict[str, Any]) -> PathState:
    return PathState.model_validate(state.get("path") or {})


def project_name(content: Content, project_id: str) -> str:
    project = content.of(PathContent).projects.get(project_id)
    return project.name if project is not None else project_id


def stage_of(state: dict[str, Any], content: Content) -> int:
    return stage(path_state(state), content)


def _detail(kind: str, detail: dict[str, Any], content: Content) -> str:
    """What a timeline entry names (a project, a step, a task...), or ""."""
    if kind == "project_chosen" and detail.get("project"):
        return project_name(content, str(detail["project"]))
    if kind in ("step_done", "step_skipped") and detail.get("step"):
        return f"{detail.get('workshop', '')}/{detail['step']}"
    if kind == "workshop_done" and detail.get("workshop"):
        return str(detail["workshop"])
    if kind.startswith("task_") and detail.get("task"):
        return _task_title(content, str(detail["task"]))[0]
    if kind == "attended" and detail.get("event"):
        return str(detail["event"])
    if kind == "region" and detail.get("region"):
        return str(detail["region"])
    return ""


def _task_title(content: Content, task_id: str) -> tuple[str, str]:
    found = find_task(content, task_id)
    return (found[1].title, found[1].url) if found is not None else (task_id, "")


OUTCOMES = {"done": N_("done (self-reported)"), "": N_("working on it"),
            "released": N_("given back"), "idle": N_("released (idle)"),
            "removed": N_("removed from the content")}


def person_record(facts: PersonFacts, content: Content) -> PersonRecord:
    path = path_state(facts.state)
    starts = [at for kind, _, at in facts.events if kind == "started"]
    started = min(starts) if starts else None
    tasks = []
    for claim in facts.tasks:
        title, url = _task_title(content, claim.task_id)
        tasks.append(TaskLine(title, url, project_name(content, claim.project_id),
                              OUTCOMES.get(claim.outcome, claim.outcome),
                              claim.ended_at or claim.claimed_at))
    mentors = []
    for case in facts.cases:
        if case.mentor:
            mentors.append((case.mentor, case.code, case.status, case.note))
    events = tuple((r.event_id, r.at) for r in facts.rsvps if r.answer == "yes")
    done = sum(1 for t in facts.tasks if t.outcome == "done")
    return PersonRecord(
        person_id=int(facts.person_id),
        identities=tuple(i.key + ("" if i.verified else " (unverified)")
                         for i in facts.identities),
        networks=tuple(sorted({str(i.network) for i in facts.identities})),
        first_seen=facts.first_seen,
        last_seen=facts.last_seen,
        cohort=f"{started:%Y-%m}" if started is not None else "",
        started_at=started,
        project=project_name(content, path.project) if path.project else "",
        stage=stage(path, content),
        region=facts.region,
        timezone=facts.timezone,
        left=path.left,
        timeline=tuple((at, STEP_WORDS[kind], _detail(kind, detail, content))
                       for kind, detail, at in facts.events if kind in STEP_WORDS),
        tasks=tuple(tasks),
        certificates=tuple((c.code, c.workshop_title, c.issued_at) for c in facts.certificates),
        mentors=tuple(mentors),
        events=events,
        attended=facts.attended,
        stats={"tasks_done": done, "to_stage_5": max(0, MORE_INVOLVED_AT - done)},
    )


def _day(at: datetime | None, tr: Translator = ENGLISH) -> str:
    return f"{at:%Y-%m-%d}" if at is not None else tr.t("never")


def record_lines(record: PersonRecord, now: datetime, full: bool = True,
                 tr: Translator = ENGLISH) -> list[str]:
    """The record as chat lines (`!person`, `!me`, the dashboard's person page), in `tr`'s
    language (English by default: the command line); `full` adds what only organizers see."""
    lines = []
    if full:
        lines.append(tr.t("Person {id}: {accounts}", id=record.person_id,
                          accounts=", ".join(record.identities) or tr.t("no accounts")))
        lines.append(tr.t("First seen {first}, last seen {last}; cohort {cohort}",
                          first=_day(record.first_seen, tr), last=_day(record.last_seen, tr),
                          cohort=record.cohort or tr.t("none (never typed !start)")))
        where = record.region or tr.t("not given")
        if record.timezone:
            where += f" ({record.timezone})"
        lines.append(tr.t("Region: {where}", where=where))
    stage_name = f"{record.stage + 1}. {tr.t(STAGES[record.stage])}"
    if record.project:
        line = tr.t("Stage {stage} in {project}", stage=stage_name, project=record.project)
    else:
        line = tr.t("Stage {stage}", stage=stage_name)
    if record.started_at is not None:
        days = max(0, (now - record.started_at).days)
        line += tr.tn(", {n} day on the path", ", {n} days on the path", days)
    if record.left:
        line += tr.t(" (left the path)")
    lines.append(line)
    if record.timeline:
        lines.append(tr.t("Steps:"))
        lines += [f"  {at:%Y-%m-%d} {tr.t(what)}" + (f": {detail}" if detail else "")
                  for at, what, detail in record.timeline]
    if record.tasks:
        lines.append(tr.t("Tasks:"))
        lines += [f"  {t.title}: {tr.t(t.outcome)}, {t.at:%Y-%m-%d}" + (f" {t.url}" if t.url
                                                                          else "")
                  for t in record.tasks]
    if record.certificates:
        lines.append(tr.t("Certificates: {list}", list=", ".join(
            f"{title} ({code}, {at:%Y-%m-%d})" for code, title, at in record.certificates)))
    if record.mentors:
        lines.append(tr.t("Mentors: {list}", list="; ".join(
            tr.t("{mentor}, help request {code} {status}", mentor=mentor, code=code,
                 status=status) + (f" ({note})" if note else "")
            for mentor, code, status, note in record.mentors)))
    if record.events:
        lines.append(tr.t("Events (said yes): {list}", list=", ".join(
            f"{e} ({at:%Y-%m-%d})" for e, at in record.events)))
    if record.attended:
        lines.append(tr.t("Events attended (checked in): {list}", list=", ".join(
            f"{e} ({at:%Y-%m-%d})" for e, at in record.attended)))
    return lines


def row_stage(row: PersonRow, content: Content) -> str:
    index = stage_of(row.state, content)
    return f"{index + 1}. {STAGES[index]}"


def stage_where(number: str, content: Content) -> StageWhere | None:
    """The stage numbered `number` ("1" to "5") for the store to select on, or None if there
    is no such stage. Mirrors flows/path's `stage` (tests/test_crm.py holds them together)."""
    if number not in {str(n + 1) for n in range(len(STAGES))}:
        return None
    path = content.of(PathContent)
    workshops = []
    for project_id, project in path.projects.items():
        workshop = path.workshop_of(project)
        if workshop is not None:
            workshops.append((project_id, workshop.id))
    return StageWhere(int(number) - 1, tuple(path.projects), tuple(workshops), MORE_INVOLVED_AT)
