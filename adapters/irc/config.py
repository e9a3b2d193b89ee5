"""The [adapters.irc] section, checked so that no value can break an IRC line."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bot.config import Section
from bot.model import Rate

IRC_NICK = r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$"
IRC_CHANNEL = r"^[#&][^\x00-\x20,:\x07]{1,49}$"


class IrcConfig(Section):
    enabled: bool = False
    host: str = "irc.libera.chat"
    port: Annotated[int, Field(ge=1, le=65535)] = 6697
    tls: bool = True
    tls_verify: bool = True
    nick: Annotated[str, Field(pattern=IRC_NICK)] = "wayfinder"
    alt_nick: Annotated[str, Field(pattern=IRC_NICK)] | None = None  # default: nick + "_"
    username: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,10}$")] = "wayfinder"
    realname: Annotated[str, Field(pattern=r"^[^\x00-\x1f]{1,100}$")] = "Wayfinder onboarding bot"
    sasl_account: str = ""
    sasl_password_env: str = ""
    channels: tuple[Annotated[str, Field(pattern=IRC_CHANNEL)], ...] = ()
    # A web chat for people without an IRC client, linked from the web hub: "{channel}" is
    # replaced by the channel, URL-encoded (e.g. "https://web.libera.chat/#{channel}").
    webchat_url: Annotated[str, Field(max_length=300,
                                      pattern=r"^(https?://[^\s{}]+(\{channel\}[^\s{}]*)?)?$")] = ""
    conversation: Literal["private", "channel"] = "private"  # where !start in a channel goes on
    # Bridge and bot accounts whose lines are never taken: nick or services account patterns
    # (a relay bot "matterbridge", a bridge's puppets "*[m]").
    ignore_senders: tuple[str, ...] = ()
    formatting: bool = False  # mIRC bold/colour codes from content pass through
    max_lines: Annotated[int, Field(ge=3, le=100)] = 10  # per page; the rest on !more
    burst: Annotated[int, Field(ge=1)] = 4
    lines_per_second: Annotated[float, Field(gt=0)] = 1.0
    ping_interval_seconds: Annotated[float, Field(gt=0)] = 60.0  # silence before we PING
    pong_timeout_seconds: Annotated[float, Field(gt=0)] = 20.0  # then the link is dead
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0  # to connect and register
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 60.0  # backoff cap
    regain_nick_seconds: Annotated[float, Field(gt=0)] = 30.0  # retry the main nick this often
    # A reply for a services account that is not online waits this long, then is a dead letter
    account_hold_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] = 86400.0

    def secret_keys(self) -> list[tuple[str, str]]:
        """(key under [adapters.irc], environment variable) for each secret it needs."""
        return [("sasl_password_env", self.sasl_password_env)] if self.sasl_account else []

    @property
    def rate(self) -> Rate:
        return Rate(self.lines_per_second, self.burst)
