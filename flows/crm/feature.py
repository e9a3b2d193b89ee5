"""The CRM: organizers look people up (`!person`, `wayfinder people`, `wayfinder person`),
everyone sees their own metrics (`!me`), and the program's reports (`wayfinder report ...`)."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.crm import cli, commands
from flows.crm.reads import CrmReads
from flows.crm.settings import ReportsConfig

FEATURE = Feature(
    name="crm",
    commands=(
        Command("person", commands.person, role="organizer", usage="NAME", private=True,
                summary=N_("one person's record: steps with dates, merit, region, accounts")),
        Command("me", commands.me, private=True,
                summary=N_("my contributor metrics: steps with dates, tasks, certificates, "
                        "mentors, events, what's next")),
    ),
    reads=CrmReads,
    settings=ReportsConfig,
    cli=cli.register,
)
