"""Forge checks: `!done LINK` checked with the forge, open changes followed until merged or
abandoned (a due job), and forge checkpoints in workshops."""

from __future__ import annotations

from bot.feature import Feature, FeatureService, ServiceContext
from flows.forge import done, http
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
    jobs=(done.rechecks,),
    settings=ForgeConfig,
    state=ForgeState,
    reads=ForgeReads,
    services=HttpClientService,
)
