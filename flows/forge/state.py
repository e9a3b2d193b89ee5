"""What the forge feature keeps about a person (stored under "forge" in their state): their
usernames on the forges, as the forge confirmed them at a checkpoint."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from bot.flow import FeatureState


class ForgeState(FeatureState):
    namespace: ClassVar[str] = "forge"

    accounts: dict[str, str] = Field(default_factory=dict)  # forge kind -> their username
