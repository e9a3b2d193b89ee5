"""The mentor guide (content/mentor-guide.toml): what a newly approved mentor is told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from bot.content import ContentFolder, ContentPart, Strict

DEFAULT_GUIDE = ("Welcome, mentor! When a newcomer on your project is stuck, I'll ping you: "
                 "!claim CODE takes the request, !resolve CODE closes it, !handback CODE gives "
                 "it back. !away 3d pauses requests.")


class GuideFile(Strict):
    title: Annotated[str, Field(min_length=1, max_length=120)] = "Mentor guide"
    body: Annotated[str, Field(min_length=1, max_length=3000)]
    link: Annotated[str, Field(max_length=500, pattern=r"^(https?://\S+)?$")] = ""


@dataclass(frozen=True)
class LevelupContent:
    guide: GuideFile | None = None

    def guide_text(self) -> str:
        if self.guide is None:
            return DEFAULT_GUIDE
        more = f"\nMore: {self.guide.link}" if self.guide.link else ""
        return f"{self.guide.title}\n{self.guide.body.strip()}{more}"


def load(folder: ContentFolder) -> LevelupContent:
    path = folder.root / "mentor-guide.toml"
    if not path.exists():
        return LevelupContent()
    data = folder.read(path)
    guide = folder.validate(GuideFile, data, path) if data is not None else None
    return LevelupContent(guide)


PART = ContentPart(LevelupContent, ("mentor-guide.toml",), load,
                   lambda content: "a mentor guide" if content.guide else "")
