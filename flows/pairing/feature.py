"""Peer programming: `!pair on|off`, and the weekly introductions (a due job)."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.pairing import pairs
from flows.pairing.reads import PairingReads
from flows.pairing.state import PairingState

FEATURE = Feature(
    name=pairs.FEATURE_NAME,
    commands=(
        Command("pair", pairs.pair_command, usage=pairs.PAIR_USAGE, private=True,
                summary=N_("peer programming: be introduced to another newcomer of your project "
                        "(on), or not (off)")),
    ),
    jobs=(pairs.pair_up,),
    state=PairingState,
    reads=PairingReads,
    project=pairs.standing,
    project_inputs=pairs.STANDING_INPUTS,
)
