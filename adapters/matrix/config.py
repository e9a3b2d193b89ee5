"""The [adapters.matrix] section."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bot.config import Section
from bot.model import Rate


class MatrixConfig(Section):
    enabled: bool = False
    homeserver: str = ""
    user_id: str = ""
    password_env: str = ""
    access_token_env: str = ""
    store_path: str = "matrix-store"
    rooms: tuple[str, ...] = ()
    messages_per_second: Annotated[float, Field(gt=0)] = 10.0  # 429 retry_after rules anyway
    device_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "WAYFINDER"
    device_name: str = "Wayfinder"
    pickle_key_env: str = ""  # encrypts the end-to-end keys at rest
    # The bot's cross-signing keys (32-byte Ed25519 seeds, base64), both or neither: with
    # them the bot signs its own device, so clients see it verified by its owner.
    cross_signing_master_key_env: str = ""
    cross_signing_self_signing_key_env: str = ""
    allowed_homeservers: tuple[str, ...] = ()  # whose invites to accept; empty: the bot's own
    # Bridge and bot accounts whose messages are never taken (* and ? patterns, e.g. a
    # bridge's puppets "@irc_*:example.org"); a room's m.bridge bot is always left alone.
    ignore_senders: tuple[str, ...] = ()
    # Where `!start` in a room goes on: a direct room, the room itself, or a thread in it.
    conversation: Literal["private", "room", "thread"] = "private"
    encrypt_direct_rooms: bool = True
    sync_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 30.0
    # Cap of the sync retry backoff: also the longest wait after the homeserver is back.
    backoff_max_seconds: Annotated[float, Field(gt=0)] = 8.0

    def secret_keys(self) -> list[tuple[str, str]]:
        """(key under [adapters.matrix], environment variable) for each secret it needs."""
        login = ("access_token_env", self.access_token_env) if self.access_token_env else \
            ("password_env", self.password_env)
        keys = [login, ("pickle_key_env", self.pickle_key_env)]
        if self.cross_signing_master_key_env or self.cross_signing_self_signing_key_env:
            keys += [("cross_signing_master_key_env", self.cross_signing_master_key_env),
                     ("cross_signing_self_signing_key_env",
                      self.cross_signing_self_signing_key_env)]
        return keys

    @property
    def rate(self) -> Rate:
        return Rate(self.messages_per_second, 1)
