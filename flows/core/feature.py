"""Commands of the bot itself, whatever features it runs: !help, and !back off the path."""

from __future__ import annotations

import re

from bot.feature import Command, Feature, help_text, perform
from bot.flow import Transition, Turn
from bot.i18n import LOCALE_KEY, N_, language_name, normalize
from bot.text import one_line

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
    turn.say(turn.t("There's no step to go back to here. !status shows where you are."))
    return None


async def language(turn: Turn) -> Transition:
    """`!language CODE`: answer this person in that language from now on; without a code,
    which one they have and which they may choose."""
    offered = turn.config.i18n.offered()
    listed = ", ".join(f"{code} ({language_name(code)})" for code in offered)
    code = turn.input.args.strip()
    if not code:
        turn.say(turn.t("I'm speaking {name} with you. Choose another with !language CODE, "
                        "one of: {listed}.", name=language_name(turn.locale), listed=listed))
        return None
    found = normalize(code, offered)
    if found is None:
        turn.say(turn.t("I don't speak {code} yet. Choose one of: {listed}.",
                        code=one_line(code, 16), listed=listed))
        return None
    turn.data[LOCALE_KEY] = {**(turn.data.get(LOCALE_KEY) or {}), "chosen": found}
    turn.say(turn.t("From now on I'll answer you in {name}. !language changes it again.",
                    name=language_name(found)))
    return None


FEATURE = Feature(
    name="core",
    commands=(
        Command("help", help_command, summary=N_("this list (!help me: ask a mentor)")),
        Command("language", language, usage="CODE",
                summary=N_("answer me in another language (en, es, pt_BR)")),
        Command("back", back, listed=False),  # the step word below, where a step has none
    ),
    words={"back": N_("go back one step")},
)
