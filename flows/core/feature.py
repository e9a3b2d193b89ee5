"""Commands of the bot itself, whatever features it runs: !help, and !back off the path."""

from __future__ import annotations

import re

from bot.feature import Command, Feature, help_text, perform
from bot.flow import Transition, Turn

HELP_ME = re.compile(r"^me\b", re.IGNORECASE)  # "!help me, pip fails" asks for help


async def help_command(turn: Turn) -> Transition:
    catalog = turn.catalog
    assert catalog is not None  # the engine hands every turn its catalog
    asking = catalog.get("stuck")
    if asking is not None and HELP_ME.match(turn.input.args):
        return await perform(turn, asking)
    on_path = turn.flow is not None and not turn.data.get("paused")
    turn.say(help_text(turn, catalog, turn.step_commands if on_path else (),
                       bool(turn.data.get("choices"))))
    return None


async def back(turn: Turn) -> Transition:
    """`!back` where the current step has nowhere to go back to (the engine handles it where
    one has)."""
    turn.say("There's no step to go back to here. !status shows where you are.")
    return None


FEATURE = Feature(
    name="core",
    commands=(
        Command("help", help_command, summary="this list (!help me: ask a mentor)"),
        Command("back", back, listed=False),  # the step word below, where a step has none
    ),
    words={"back": "go back one step"},
)
