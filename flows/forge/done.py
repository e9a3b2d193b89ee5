"""`!done LINK`: the change that did the task, checked with its forge; and the durable due
check that follows an open change until it is merged or abandoned.

A turn waits at most `forge.timeout_seconds` for the forge. The due scan asks the forge about
every due change at once (a few at a time) before it takes anyone's lock, and each person's
turn then applies what the forge said, if their change is still the one asked about.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from bot.config import Config
from bot.durations import describe
from bot.flow import Due, Goto, Handler, Transition, Turn
from bot.i18n import ENGLISH, N_, Translator
from bot.ports import Reads
from bot.text import one_line
from flows.forge.clients import (
    NAMES,
    ChangeState,
    ForgeError,
    NotFoundError,
    UnavailableError,
    change_state,
)
from flows.forge.links import ChangeRef, change_of, find_url, locate
from flows.forge.reads import reads_of
from flows.forge.records import CheckAgain, EndWatch, Watch, WatchChange
from flows.forge.settings import ForgeConfig
from flows.forge.state import ForgeState
from flows.mentoring.api import refer
from flows.path.api import (
    Project,
    Task,
    finish_task,
    reserved_task,
    stage_news,
    task_finished,
    waiting_for_review,
)

EXAMPLES = N_("a Gerrit change (https://gerrit.example.org/r/c/project/+/12345), a GitHub pull "
            "request (https://github.com/owner/repo/pull/7) or a GitLab merge request "
            "(https://gitlab.com/group/project/-/merge_requests/3)")


@dataclass(frozen=True)
class Unchecked:
    """Why a link could not be checked, in words for the newcomer and the mentor."""

    reason: str
    host: str = ""


def parse_change(link_text: str, config: ForgeConfig, project_id: str,
                 tr: Translator = ENGLISH) -> ChangeRef | Unchecked | str:
    """The change a `!done` argument names; Unchecked when it is a link no forge of the project
    can answer for; a friendly reply (str) when it is no link to a change at all."""
    url = find_url(link_text)
    if url is None:
        return tr.t("That doesn't look like a link. Type !done followed by the link to your "
                    "change: {examples}.", examples=tr.t(EXAMPLES))
    located = locate(url, dict(config.hosts_for(project_id)))
    if located is None:
        host = urlsplit(url).netloc or url
        return Unchecked(f"{host} is not a forge I can check for this project", host)
    change = change_of(located)
    if change is None:
        return tr.t("That link is on {host}, but it isn't the link of a change. Open your "
                    "change and copy its address: it looks like {example}.",
                    host=located.host.url,
                    example=_example(located.host.kind, located.host.url))
    return change


def _example(kind: str, base: str) -> str:
    return {"gerrit": f"{base}/c/project/+/12345", "github": f"{base}/owner/repo/pull/7",
            "gitlab": f"{base}/group/project/-/merge_requests/3"}[kind]


def task_marks(task: Task) -> list[str]:
    """What a change mentions when it is about `task`: its link, its id, the tracker's number
    (T1001, #42)."""
    marks = [task.id]
    if task.url:
        marks.append(task.url.rstrip("/"))
        tail = task.url.rstrip("/").rsplit("/", 1)[-1]
        if re.fullmatch(r"[A-Za-z]\d+", tail):
            marks.append(tail)
        issue = re.search(r"/(?:issues|work_items)/(\d+)$", task.url.rstrip("/"))
        if issue:
            marks.append(f"#{issue.group(1)}")
    return marks


def refers_to(state: ChangeState, task: Task) -> bool:
    text = state.text.lower()
    for mark in task_marks(task):
        if mark.startswith("http"):
            if mark.lower() in text:
                return True
        elif re.search(rf"(?<![\w/-]){re.escape(mark.lower())}(?![\w-])", text):
            return True
    return False


async def _ask(change: ChangeRef, config: ForgeConfig) -> ChangeState | ForgeError:
    try:
        return await change_state(change, config.timeout_seconds)
    except ForgeError as exc:
        return exc


async def _refer(turn: Turn, project: Project, text: str, why: str, newcomer: str = "") -> str:
    """Hand the case to a mentor of the project; what to tell the newcomer about it."""
    referral = await refer(turn, why, "forge", newcomer)
    if referral is None:
        return f"{text} " + turn.t("Please ask in {project}'s support channel.",
                                   project=project.name)
    if referral.existing:
        return f"{text} " + turn.t("You already have a help request open (case {code}), so I "
                                   "haven't opened another: please mention this link to your "
                                   "mentor there.", code=referral.code)
    return f"{text} {referral.told} " + turn.t("Your task stays reserved for you meanwhile.")


def _merged_text(turn: Turn, change: ChangeRef, project: Project, task: Task) -> str:
    lines = [turn.t("Merged! Your {change} is part of {project} now. That completes your task "
                    "\"{task}\": well done, that's a real contribution!",
                    change=change.describe(turn.translator), project=project.name,
                    task=task.title)]
    lines.append(stage_news(turn))
    return "\n".join(lines)


async def done_with_link(turn: Turn) -> Transition:
    """`!done LINK` at the task step (flows/path calls this through flows/forge/api.py)."""
    held = await reserved_task(turn)
    if held is None:
        turn.say(turn.t("You have no task reserved at the moment. Type !task for one."))
        return None
    project, task = held
    config = turn.settings_of(ForgeConfig)
    parsed = parse_change(turn.input.args, config, project.id, turn.translator)
    if isinstance(parsed, str):
        turn.say(parsed)
        return None
    if isinstance(parsed, Unchecked):
        turn.event("change_unchecked", task=task.id, reason=parsed.reason)
        turn.say(await _refer(
            turn, project, turn.t("I can't check that link myself: {host} is not a forge I can "
                                  "check for this project.", host=parsed.host),
            f"they say their task is done with {one_line(turn.input.args, 200)}, which I can't "
            f"check ({parsed.reason}). Please look at it with them."))
        return None
    answer = await _ask(parsed, config)
    return await _apply(turn, project, task, parsed, answer, first=True)


async def _apply(turn: Turn, project: Project, task: Task, change: ChangeRef,
                 answer: ChangeState | ForgeError, first: bool, watch: Watch | None = None,
                 ) -> Transition:
    """What the forge said, applied to the person's task: at `!done` (first) or a re-check."""
    config = turn.settings_of(ForgeConfig)
    newcomer = watch.holder if watch is not None else ""
    link = change.url
    if isinstance(answer, ForgeError):
        failures = (watch.failures if watch is not None else 0) + 1
        if (isinstance(answer, UnavailableError) and not first
                and failures < config.failures_before_mentor):
            assert watch is not None
            turn.record(CheckAgain(turn.person_id, link, failures,
                                   turn.now + config.recheck))
            waiting_for_review(turn)
            return None  # the forge is down for now: ask again later, quietly
        if watch is not None:
            turn.record(EndWatch(turn.person_id, link, "referred"))
        what = ("it isn't there" if isinstance(answer, NotFoundError) else str(answer))
        # The forge's own words stay as they came; "it isn't there" is ours.
        shown = turn.t("it isn't there") if isinstance(answer, NotFoundError) else what
        mine = change.describe(turn.translator)
        lead = (turn.t("I couldn't check your {change}: {what}.", change=mine, what=shown)
                if first else
                turn.t("I couldn't check your {change} again: {what}.", change=mine,
                       what=shown))
        turn.event("change_unchecked", task=task.id, change=link, reason=what)
        turn.say(await _refer(
            turn, project, lead,
            f"they say their task is done with {link}, which I can't check ({what}). Please "
            "look at it with them.", newcomer))
        return None
    known = turn.state(ForgeState).accounts.get(change.kind, "")
    if first and known and answer.author and answer.author.lower() != known.lower():
        turn.event("change_not_theirs", task=task.id, change=link)
        turn.say(await _refer(
            turn, project,
            turn.t("Your {change} (\"{title}\") was made by {author}, but your {forge} account "
                   "is {known}, so I can't count it as yours.",
                   change=change.describe(turn.translator), title=answer.title,
                   author=answer.author, forge=NAMES[change.kind], known=known),
            f"their {change.describe()} ({link}) was made by {answer.author}, not by their "
            f"{NAMES[change.kind]} account {known}. Please check with them.", newcomer))
        return None
    if answer.status == "merged":
        if not refers_to(answer, task):
            if watch is not None:
                turn.record(EndWatch(turn.person_id, link, "referred"))
            turn.event("change_unrelated", task=task.id, change=link)
            turn.say(await _refer(
                turn, project,
                turn.t("Your {change} (\"{title}\") is merged, but it doesn't mention your task "
                       "({task}), so I can't tell it's the one.",
                       change=change.describe(turn.translator), title=answer.title,
                       task=task.url or task.id),
                f"their {change.describe()} ({link}) is merged but doesn't mention their task "
                f"({task.url or task.id}). Please check with them that it is the task's.",
                newcomer))
            return None
        if watch is not None:
            turn.record(EndWatch(turn.person_id, link, "merged"))
        certificate = finish_task(turn, project, task, link)
        turn.event("change_merged", task=task.id, change=link)
        turn.say(_merged_text(turn, change, project, task))
        await task_finished(turn, project, task, certificate)
        return Goto("involved", flow="first_task") if turn.flow == "first_task" else None
    if answer.status == "abandoned":
        if watch is not None:
            turn.record(EndWatch(turn.person_id, link, "abandoned"))
        turn.event("change_abandoned", task=task.id, change=link)
        turn.say(turn.t("Your {change} (\"{title}\") was closed without being merged. Your "
                        "task is still reserved for you: when you have a new change, type !done "
                        "with its link, or !release to give the task back.",
                        change=change.describe(turn.translator), title=answer.title))
        return None
    # Open: follow it.
    waiting_for_review(turn)
    if watch is None:
        turn.record(WatchChange(turn.person_id, task.id, project.id, link, turn.sender.key,
                                turn.now, turn.now + config.recheck))
        turn.event("change_open", task=task.id, change=link)
        hint = "" if refers_to(answer, task) else " " + turn.t(
            "Tip: mention your task ({task}) in the change's description, so reviewers (and I) "
            "can tell what it is for.", task=task.url or task.id)
        turn.say(turn.t("Thanks! Your {change} (\"{title}\") isn't merged yet: it is still in "
                        "review. I'll check it again every {every} and tell you when it's "
                        "merged; your task stays reserved for you meanwhile.",
                        change=change.describe(turn.translator), title=answer.title,
                        every=describe(config.recheck, turn.translator))
                 + hint)
    else:
        turn.record(CheckAgain(turn.person_id, link, 0, turn.now + config.recheck))
    return None


# -- the due check --------------------------------------------------------------------------
def _recheck(watch: Watch, change: ChangeRef | None, answer: ChangeState | ForgeError
             ) -> Handler:
    async def recheck(turn: Turn) -> Transition:
        current = await reads_of(turn.reads).watch_of(turn.person_id)
        if (current is None or current.status != "watching" or current.link != watch.link
                or current.next_check_at != watch.next_check_at):
            return None  # replaced, ended or checked meanwhile
        held = await reserved_task(turn)
        if held is None or held[1].id != watch.task_id or change is None:
            # Released, done another way, gone from content, or its forge left the config.
            turn.record(EndWatch(turn.person_id, watch.link, "dropped"))
            if held is not None and held[1].id == watch.task_id:
                turn.say(await _refer(
                    turn, held[0], turn.t("I can no longer check your change {link}.",
                                          link=watch.link),
                    f"their change {watch.link} can no longer be checked (its forge is no "
                    "longer configured). Please look at it with them.",
                    watch.holder))
            return None
        project, task = held
        return await _apply(turn, project, task, change, answer, first=False, watch=watch)

    return recheck


async def rechecks(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """Changes due for another look: the forge is asked about all of them (a few requests at
    a time, each with the short timeout), then each person's turn applies the answer."""
    settings = config.settings_of(ForgeConfig)
    watches = await reads_of(reads).due_watches(now, settings.checks_per_tick)
    if not watches:
        return []
    gate = asyncio.Semaphore(settings.concurrency)

    async def ask(watch: Watch) -> tuple[ChangeRef | None, ChangeState | ForgeError]:
        located = locate(watch.link, dict(settings.hosts_for(watch.project_id)))
        change = change_of(located) if located is not None else None
        if change is None:
            return None, UnavailableError("its forge is no longer configured")
        async with gate:
            return change, await _ask(change, settings)

    answers: Sequence[tuple[ChangeRef | None, ChangeState | ForgeError]] = \
        await asyncio.gather(*(ask(w) for w in watches))
    return [Due(w.person_id, f"forge:{w.person_id}:{w.next_check_at.isoformat()}",
                _recheck(w, change, answer))
            for w, (change, answer) in zip(watches, answers, strict=True)
            if w.next_check_at is not None]
