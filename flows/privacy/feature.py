"""Privacy: `!mydata` sends everything held about a person; `!forget` erases it. Where each
table keeps person data is declared by its storage module (storage/records.py `Personal`)."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.privacy import cli, commands
from flows.privacy.reads import PrivacyReads
from flows.privacy.service import RetentionService
from flows.privacy.settings import RetentionConfig
from flows.privacy.state import PrivacyState

FEATURE = Feature(
    name="privacy",
    commands=(
        Command("mydata", commands.mydata, private=True,
                summary=N_("get everything I hold about you, as a JSON file")),
        Command("forget", commands.forget, private=True,
                summary=N_("erase everything I hold about you, on every linked account (asks "
                        "for a confirmation code first)"),
                sub={"confirm": Command("confirm", commands.confirm, usage="CODE", private=True,
                                        summary=N_("confirm the erasure with the code !forget "
                                                "gave you")),
                     "cancel": Command("cancel", commands.cancel, private=True,
                                       summary=N_("keep everything after all"))}),
    ),
    state=PrivacyState,
    reads=PrivacyReads,
    settings=RetentionConfig,
    services=RetentionService,
    cli=cli.register,
)
