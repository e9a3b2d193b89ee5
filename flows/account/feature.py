"""Accounts: one person across networks (linking with a one-time code)."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.account import link
from flows.account.reads import AccountReads
from flows.account.settings import AccountConfig

FEATURE = Feature(
    name="account",
    commands=(
        Command("link", link.link, usage="[CODE]", private=True,
                summary=N_("get a code to link your account on another network; with a "
                        "CODE, redeem one")),
    ),
    reads=AccountReads,
    settings=AccountConfig,
)
