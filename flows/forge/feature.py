"""Forge checks: `!done LINK` checked with the forge, open changes followed until merged or
abandoned (a due job), forge checkpoints in workshops; and `!forge`, people's linked forge
accounts, verified by a code in their profile."""

from __future__ import annotations

from bot.feature import Command, Feature, FeatureService, ServiceContext
from bot.i18n import N_
from flows.forge import accounts, done, http, metrics
from flows.forge.clients import NAMES
from flows.forge.reads import ForgeReads
from flows.forge.settings import ForgeConfig
from flows.forge.state import ForgeState


class HttpClientService(FeatureService):
    """Takes the process's shared HTTP client when the bot starts, if any forge is configured
    (no forge: no client, and no request is ever made), and gives it back at the stop."""

    def __init__(self, context: ServiceContext) -> None:
        self.wanted = bool(context.config.settings_of(ForgeConfig).hosts)

    async def start(self) -> None:
        if self.wanted:
            await http.start()

    async def stop(self) -> None:
        await http.stop()


FEATURE = Feature(
    name="forge",
    commands=(
        Command("forge", accounts.forge_list, private=True,
                summary=N_("your forge accounts (GitHub, GitLab, Gerrit, Phabricator), "
                           "verified or not"), sub={
                    **{kind: Command(kind, accounts.LINKERS[kind], usage="NAME", private=True,
                                     summary=f"link your {NAMES[kind]} account")
                       for kind in ("github", "gitlab", "gerrit", "phabricator")},
                    "verify": Command("verify", accounts.forge_verify, private=True,
                                      summary=N_("check the code in your forge profiles")),
                    "remove": Command("remove", accounts.forge_remove, usage="FORGE",
                                      private=True, summary=N_("remove a linked forge account")),
                }),
    ),
    jobs=(done.rechecks, metrics.refreshes),
    settings=ForgeConfig,
    state=ForgeState,
    reads=ForgeReads,
    services=HttpClientService,
)
