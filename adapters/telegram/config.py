"""The [adapters.telegram] section."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bot.config import Section
from bot.model import Rate


class TelegramConfig(Section):
    enabled: bool = False
    token_env: str = ""
    base_url: str = ""  # empty: Telegram's; set for a local Bot API server
    # The bot's username (without "@"), for the web hub's deep links t.me/<username>?start=...
    # (the running bot asks Telegram for its own; the web pages may run without it).
    username: Annotated[str, Field(pattern=r"^([A-Za-z][A-Za-z0-9_]{3,31})?$")] = ""
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout_seconds: Annotated[int, Field(ge=1, le=60)] = 10
    request_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    webhook_listen: str = "127.0.0.1"
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 8443
    webhook_url: str = ""  # the public https URL Telegram posts updates to
    webhook_secret_env: str = ""  # checked on every webhook request
    messages_per_second: Annotated[float, Field(gt=0)] = 30.0
    per_chat_per_second: Annotated[float, Field(gt=0)] = 1.0
    per_group_per_minute: Annotated[int, Field(ge=1)] = 20
    # Bridge and bot accounts whose messages are never taken: user ids or @username patterns
    # (a relay posting through a user account; other bots' messages never reach a bot).
    ignore_senders: tuple[str, ...] = ()

    def secret_keys(self) -> list[tuple[str, str]]:
        """(key under [adapters.telegram], environment variable) for each secret it needs."""
        keys = [("token_env", self.token_env)]
        if self.mode == "webhook":
            keys.append(("webhook_secret_env", self.webhook_secret_env))
        return keys

    @property
    def rate(self) -> Rate:
        return Rate(self.messages_per_second, 1)
