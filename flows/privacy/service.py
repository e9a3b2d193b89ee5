"""The daily retention job ([retention]): what is past its limit is deleted or cleared, and
the log says what went."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.feature import FeatureService, ServiceContext
from flows.privacy.reads import Expires
from flows.privacy.settings import RetentionConfig

log = logging.getLogger(__name__)

EVERY = timedelta(days=1)


class RetentionService(FeatureService):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.settings = context.config.settings_of(RetentionConfig)
        self.last: datetime | None = None

    async def tick(self) -> int:
        now = self.context.clock()
        if self.last is not None and now - self.last < EVERY:
            return 0
        store = self.context.store
        if not isinstance(store, Expires):
            raise TypeError(f"{type(store).__name__} cannot expire data")
        done = await store.expire({name: now - age
                                   for name, age in self.settings.cutoffs().items()})
        self.last = now
        log.info("retention: removed %s", ", ".join(f"{n} {what}" for what, n in done.items())
                 or "nothing (nothing was past its limit)")
        return 0
