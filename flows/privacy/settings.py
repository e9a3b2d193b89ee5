"""[retention]: how long what the bot keeps is kept (README, "Privacy")."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from pydantic import field_validator

from bot.config import FeatureSettings
from bot.durations import parse_duration
from bot.fields import Duration

# Networks hand an event over again for about a day at most (Telegram keeps updates 24 hours;
# a Matrix sync token or an IRC reconnect replays less): the inbox must outlive that.
MIN_INBOX = timedelta(days=2)


class RetentionConfig(FeatureSettings):
    table: ClassVar[str] = "retention"
    inbox: Duration = "7d"  # ids of events handled, kept to recognise a replayed one
    sent_messages: Duration = "30d"  # then the text of a delivered message is erased
    resolved_free_text: Duration = "90d"  # then a resolved help request's words are erased

    @field_validator("inbox")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if parse_duration(value) < MIN_INBOX:
            raise ValueError("must be at least 2d: a network may hand an event over again "
                             "within a day, and a forgotten event would be handled twice")
        return value

    def cutoffs(self) -> dict[str, timedelta]:
        """The age after which each kind of data goes, by the name storage declares it under."""
        return {"inbox": parse_duration(self.inbox),
                "sent_messages": parse_duration(self.sent_messages),
                "resolved_free_text": parse_duration(self.resolved_free_text)}
