"""Reading a person's place on the growth path out of their flow data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.content import Content, Project, Workshop
from bot.flow import Turn
from bot.records import ClearNudge, SetNudge

STAGES = ("Find your project", "Get started", "First task", "Get involved", "Get more involved")


def profile(data: dict[str, Any]) -> dict[str, list[str]]:
    value: dict[str, list[str]] = data.setdefault(
        "profile", {"interests": [], "skills": [], "languages": []})
    return value


def chosen_project(turn: Turn) -> Project | None:
    project_id = turn.data.get("project")
    return turn.content.projects.get(project_id) if isinstance(project_id, str) else None


def no_project_text(turn: Turn) -> str:
    """What to say when there is no chosen project: none yet, or one that left the content."""
    gone = turn.data.get("project")
    if isinstance(gone, str) and gone:
        return (f"The project you had chosen ({gone}) is no longer listed: the organizers "
                "removed it. Type !start to choose another one.")
    return "Pick a project first: type !start."


def chosen_workshop(turn: Turn) -> Workshop | None:
    project = chosen_project(turn)
    return turn.content.workshop_of(project) if project else None


def workshop_index(data: dict[str, Any], workshop_id: str) -> int:
    return int(data.get("workshops", {}).get(workshop_id, 0))


def set_workshop_index(data: dict[str, Any], workshop_id: str, index: int) -> None:
    data.setdefault("workshops", {})[workshop_id] = index


def workshop_done(data: dict[str, Any], workshop_id: str) -> bool:
    return workshop_id in data.get("completed_workshops", [])


def stage(data: dict[str, Any], content: Content) -> int:
    """0-based index into STAGES of where the person is now."""
    project = content.projects.get(data.get("project", ""))
    if project is None:
        return 0
    workshop = content.workshop_of(project)
    if workshop is not None and not workshop_done(data, workshop.id):
        return 1
    if int(data.get("tasks_done", 0)) == 0:
        return 2
    return 3 if int(data.get("tasks_done", 0)) < 3 else 4


def progress_rank(data: dict[str, Any], content: Content) -> tuple[int, int, int]:
    """Orders two people's data by how far along they are (used when linking accounts)."""
    project = content.projects.get(data.get("project", ""))
    workshop = content.workshop_of(project) if project else None
    index = workshop_index(data, workshop.id) if workshop else 0
    return stage(data, content), index, int(data.get("messages", 0))


def channel_list(project: Project) -> str:
    return ", ".join(f"{channel} ({network})" for network, channel in project.channels.items())


def contact_lines(project: Project, indent: str = "") -> list[str]:
    """Where a newcomer finds help: the support channels, then the mentors."""
    lines = []
    if project.channels:
        lines.append(f"{indent}Support: {channel_list(project)}")
    if project.mentors:
        lines.append(f"{indent}Mentors: {', '.join(project.mentors)}")
    return lines


def expect_progress(turn: Turn, subject: str, after: timedelta) -> None:
    """Ask the person, once, whether they want help if `subject` sees no progress in time."""
    project = chosen_project(turn)
    if project is None or subject in turn.data.get("nudged", []):
        return
    if turn.data.get("expecting") == subject:
        return  # shown again (a hint, !resume): the clock runs from when they got here
    turn.data["expecting"] = subject
    turn.record(SetNudge(turn.person_id, subject, project.id, turn.now + after))


def no_progress_expected(turn: Turn) -> None:
    if turn.data.pop("expecting", None) is not None:
        turn.record(ClearNudge(turn.person_id))
