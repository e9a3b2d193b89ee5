"""What the growth path keeps about a person (stored under "path" in their state)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bot.flow import FeatureState


class Discovery(FeatureState):
    ranked: list[str] = Field(default_factory=list)  # project ids, best first
    offset: int = 0  # the page of suggestions shown
    matched: bool = True  # False: the answers matched nothing, the featured projects are shown
    options_page: int = 0  # the page of a question's options shown (!more)


class PathState(FeatureState):
    namespace: ClassVar[str] = "path"

    origin: str = ""  # the project whose channel !start was typed in
    profile: dict[str, list[str]] = Field(default_factory=dict)  # interests, skills, languages
    discovery: Discovery | None = None  # suggestions ranked from the profile
    project: str = ""
    workshops: dict[str, int] = Field(default_factory=dict)  # workshop id -> step index
    on_step: str = ""  # the id of the workshop step last shown (content may move it)
    completed_workshops: list[str] = Field(default_factory=list)
    certificates: list[str] = Field(default_factory=list)
    task: str = ""  # the task reserved for them now
    task_project: str = ""  # the project it was reserved in (a live task is not in content)
    tasks_done: int = 0
    finished_tasks: list[str] = Field(default_factory=list)
    expecting: str = ""  # the subject a nudge is due for, if no progress
    nudged: list[str] = Field(default_factory=list)  # subjects already asked about, once each
    left: bool = False  # !stop: off the path, no invites
    stopped_at: str = ""  # !stop: "flow:step" that !start picks up again
    gave_back: str = ""  # the task !stop released: offered again first, if still free
    switch_to: str = ""  # a project chosen while holding another's task: keep it or switch?
    region_offered: bool = False
    language_offered: bool = False  # "I also speak ...: !language CODE" was said (once)
    holder_name: str = ""  # the name on their certificates (!name), never an identity key
    motive_asked: bool = False  # "what brings you here?" was asked (once)
    rating: str = ""  # the subject !rate rates now ("step:WORKSHOP/STEP" or "task:ID")
    rating_project: str = ""  # its project
    rated: list[str] = Field(default_factory=list)  # subjects rated or offered, once each
    sessions: list[str] = Field(default_factory=list)  # workshops whose live session they attended
