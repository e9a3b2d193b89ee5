"""What the groups feature keeps about a person (stored under "groups" in their state): a
group organizer's message awaiting `!group confirm`."""

from __future__ import annotations

from typing import ClassVar

from bot.flow import FeatureState


class Draft(FeatureState):
    group: str
    text: str


class GroupsState(FeatureState):
    namespace: ClassVar[str] = "groups"

    draft: Draft | None = None
