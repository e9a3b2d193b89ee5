"""Local groups: content/groups/<id>.toml describes each group near newcomers."""

from __future__ import annotations

from bot.feature import Feature
from flows.groups import content

FEATURE = Feature(
    name="groups",
    content=content.PART,
)
