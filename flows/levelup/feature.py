"""Level-up mentors: an invitation to mentor after the first task and more, an organizer's
approval, then a mentor with a guide and office hours (mentoring's !hours)."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.levelup import content, invite
from flows.levelup.reads import LevelupReads
from flows.levelup.settings import LevelupConfig

FEATURE = Feature(
    name="levelup",
    commands=(
        Command("levelup", invite.levelup, usage="yes | no", private=True,
                summary=N_("answer the invitation to mentor your project")),
        Command("approve", invite.approve, role="organizer", usage="NAME", private=True,
                summary=N_("make someone who offered to mentor a mentor of their project")),
    ),
    jobs=(invite.invitations,),
    settings=LevelupConfig,
    reads=LevelupReads,
    content=content.PART,
)
