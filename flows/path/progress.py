"""Reading a person's place on the growth path out of their path state."""

from __future__ import annotations

from datetime import timedelta

from bot.content import Content
from bot.flow import Turn
from bot.i18n import ENGLISH, N_, Translator
from bot.text import one_line
from flows.path.content import PathContent, Project, Task, Workshop
from flows.path.state import PathState

STAGES = (N_("Find your project"), N_("Get started"), N_("First task"), N_("Get involved"),
          N_("Get more involved"))
MORE_INVOLVED_AT = 3  # tasks done in all: stage 5


def _words(text: str) -> str:
    return text.replace("{more_involved_at}", str(MORE_INVOLVED_AT))


def stage_note(content: Content, index: int, tr: Translator = ENGLISH) -> str:
    """What a stage is and what counts toward it (!status shows it under the stage, worded
    once per content version and language: commands._stage_rows)."""
    text = content.of(PathContent).stages[index]
    return tr.t("{what} Counts: {counts}", what=_words(tr.local(text.what)),
                counts=_words(tr.local(text.counts)))


def stage_intro(content: Content, index: int, tr: Translator = ENGLISH) -> str:
    """What a person reaching stage `index` is told: what it is, what counts toward it,
    and what comes next (content/stages.toml)."""
    text = content.of(PathContent).stages[index]
    return tr.t("You're now on step {number}, {title}. {what}\nWhat counts: {counts}\nWhat "
                "comes next: {next}", number=index + 1, title=tr.local(text.title),
                what=_words(tr.local(text.what)), counts=_words(tr.local(text.counts)),
                next=_words(tr.local(text.next)))


def stage_news(turn: Turn) -> str:
    """Right after a task is counted done: the stage it opened explained (the first task
    opens stage 4, the MORE_INVOLVED_AT-th stage 5, also for someone who skipped the
    workshop), else what to do next."""
    done = path_of(turn).tasks_done
    then = turn.t("Type !task for another task, or !status to see your progress.")
    opened = {1: 3, MORE_INVOLVED_AT: 4}.get(done)
    return then if opened is None else (f"{stage_intro(turn.content, opened, turn.translator)}"
                                        f"\n{then}")


def attend_session(turn: Turn, workshop_id: str) -> None:
    """A live session of a workshop attended (checked in at): progress on that workshop, shown
    by !status, and no nudge about being stuck is due meanwhile."""
    path = path_of(turn)
    if workshop_id not in path.sessions:
        path.sessions.append(workshop_id)
    if chosen_workshop(turn) is not None:
        no_progress_expected(turn)


def path_of(turn: Turn) -> PathState:
    return turn.state(PathState)


def profile(path: PathState) -> dict[str, list[str]]:
    for key in ("interests", "skills", "languages"):
        path.profile.setdefault(key, [])
    return path.profile


def chosen_project(turn: Turn) -> Project | None:
    return turn.content.of(PathContent).projects.get(path_of(turn).project)


def find_task(content: Content, task_id: str) -> tuple[Project, Task] | None:
    """A task of any project, by id (task ids are unique across projects), with its project."""
    for project in content.of(PathContent).projects.values():
        for task in project.tasks:
            if task.id == task_id:
                return project, task
    return None


def task_elsewhere(turn: Turn, project_id: str) -> str:
    """The other project whose task the person holds, when they turn to `project_id` ("" if
    none): a static task's project in the content, else the project it was claimed in."""
    path = path_of(turn)
    if not path.task:
        return ""
    found = find_task(turn.content, path.task)
    owner = found[0].id if found is not None else path.task_project
    return owner if owner and owner != project_id else ""


def no_project_text(turn: Turn) -> str:
    """What to say when there is no chosen project: none yet, or one that left the content."""
    gone = path_of(turn).project
    if gone:
        return turn.t("The project you had chosen ({project}) is no longer listed: the "
                      "organizers removed it. Type !start to choose another one.", project=gone)
    return turn.t("Pick a project first: type !start.")


def chosen_workshop(turn: Turn) -> Workshop | None:
    # One content look-up, not chosen_project's and another: asked up to three times a turn
    # at a workshop step (its offers, the answer, the next step shown).
    return turn.content.of(PathContent).workshop_for(path_of(turn).project)


def workshop_index(path: PathState, workshop_id: str) -> int:
    return path.workshops.get(workshop_id, 0)


def set_workshop_index(path: PathState, workshop_id: str, index: int) -> None:
    path.workshops[workshop_id] = index


def workshop_done(path: PathState, workshop_id: str) -> bool:
    return workshop_id in path.completed_workshops


def stage(path: PathState, content: Content) -> int:
    """0-based index into STAGES of where the person is now."""
    paths = content.of(PathContent)
    project = paths.projects.get(path.project)
    if project is None:
        return 0
    workshop = paths.workshop_of(project)
    if workshop is not None and not workshop_done(path, workshop.id):
        return 1
    if path.tasks_done == 0:
        return 2
    return 3 if path.tasks_done < MORE_INVOLVED_AT else 4


def progress_rank(path: PathState, messages: int, content: Content) -> tuple[int, int, int]:
    """Orders two people's progress by how far along they are (used when linking accounts)."""
    workshop = content.of(PathContent).workshop_for(path.project)
    index = workshop_index(path, workshop.id) if workshop else 0
    return stage(path, content), index, messages


def channel_list(project: Project) -> str:
    return ", ".join(f"{channel} ({network})" for network, channel in project.channels.items())


def contact_lines(turn: Turn, project: Project, indent: str = "") -> list[str]:
    """Where a newcomer finds help: the support channels, then the mentors (by name, reached
    on the reader's network)."""
    lines = []
    if project.channels:
        lines.append(indent + turn.t("Support: {channels}", channels=channel_list(project)))
    if project.mentors:
        lines.append(indent + turn.t("Mentors: {mentors}", mentors=_mentors_said(turn, project)))
    return lines


def _mentors_said(turn: Turn, project: Project) -> str:
    said = turn.content.of(PathContent).said
    key = ("mentors", project.id, turn.inbound.network)
    found = said.get(key)
    if found is None:
        from flows.path.contacts import mentor_list

        found = said[key] = mentor_list(turn.content, project.mentors, turn.inbound.network)
    return found


def expect_progress(turn: Turn, subject: str, after: timedelta) -> None:
    """Ask the person, once, whether they want help if `subject` sees no progress in time."""
    path = path_of(turn)
    if subject in path.nudged:
        return
    if path.expecting == subject:
        return  # shown again (a hint, !resume): the clock runs from when they got here
    project = chosen_project(turn)
    if project is None:
        return
    path.expecting = subject
    # Mentoring owns nudges, and its cases read the path: imported here, not at the top.
    from flows.mentoring.api import SetNudge

    turn.record(SetNudge(turn.person_id, subject, project.id, turn.now + after))


def no_progress_expected(turn: Turn) -> None:
    path = path_of(turn)
    if path.expecting:
        path.expecting = ""
        from flows.mentoring.api import ClearNudge

        turn.record(ClearNudge(turn.person_id))


def where_to_ask(turn: Turn) -> str:
    """Free text (a question, mostly) to the bot, which can't answer it: who can, and how."""
    said = one_line(turn.input.text, 200)
    question = said.endswith("?")
    catalog = turn.catalog
    stuck = catalog is not None and "stuck" in catalog
    project = chosen_project(turn)
    if question:
        return _where_to_ask(turn, said, stuck, project)
    # Not a question: made of the content, the language and the commands alone, so worded
    # once per content version (bench.core's second round answers a fifth of its messages
    # with it, at the task: 3.3 us a time in a timeit, 0.7 us from here).
    key = ("where", project.id if project is not None else "", stuck, turn.translator)
    texts = turn.content.of(PathContent).said
    found = texts.get(key)
    if found is None:
        found = texts[key] = _where_to_ask(turn, said, stuck, project)
    return found


def _where_to_ask(turn: Turn, said: str, stuck: bool, project: Project | None) -> str:
    question = said.endswith("?")
    lead = (turn.t("I can't answer questions myself, but people can:") if question else
            turn.t("I can't reply to messages myself (only to commands), but people can help:"))
    ways = []
    if stuck:
        ways.append("- " + (turn.t("type !stuck {said} to ask a mentor", said=said) if question
                            else turn.t("type !stuck and a sentence about what's blocking you, "
                                        "to ask a mentor")))
    if project is not None and project.channels:
        values = {"name": project.name, "channels": channel_list(project)}
        ways.append("- " + (turn.t("or ask in {name}'s support channel: {channels}", **values)
                            if ways else
                            turn.t("ask in {name}'s support channel: {channels}", **values)))
    return "\n".join([lead, *ways]) if ways else turn.t("I can't answer questions myself.")
