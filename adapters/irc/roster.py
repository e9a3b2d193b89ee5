"""Who is logged in to which services account, as far as this connection can see.

Sources: the account message tag (authoritative for the message it is on), extended-join,
account-notify and WHOX replies. An account is only trusted while the bot shares a channel
with the nick, because only then does the server tell us when it changes (account-notify);
once the last shared channel is gone the entry is dropped rather than trusted stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.irc.render import casefold


@dataclass
class Roster:
    _accounts: dict[str, str | None] = field(default_factory=dict)  # nick -> account or None
    _channels: dict[str, set[str]] = field(default_factory=dict)  # nick -> shared channels
    _nick_of: dict[str, str] = field(default_factory=dict)  # account -> nick, as typed

    def clear(self) -> None:
        self._accounts.clear()
        self._channels.clear()
        self._nick_of.clear()

    def joined(self, nick: str, channel: str, account: str | None = None,
               known: bool = False) -> None:
        """`nick` is in `channel`; with `known`, `account` is what the server says (None:
        not logged in)."""
        key = casefold(nick)
        self._channels.setdefault(key, set()).add(casefold(channel))
        if known:
            self._set(nick, account)

    def account_changed(self, nick: str, account: str | None) -> None:
        if casefold(nick) in self._channels:
            self._set(nick, account)

    def seen_with_tag(self, nick: str, account: str | None) -> None:
        """The account tag on a message is the truth for that message. Trust is kept only for
        nicks whose changes we will hear about; the nick is remembered either way, so the
        answer to someone who writes from outside our channels finds them."""
        self.account_changed(nick, account)
        if account is not None:
            self._nick_of[casefold(account)] = nick

    def parted(self, nick: str, channel: str) -> None:
        key = casefold(nick)
        channels = self._channels.get(key)
        if channels is None:
            return
        channels.discard(casefold(channel))
        if not channels:
            self.gone(nick)

    def left_channel(self, channel: str) -> None:
        """The bot itself left or was kicked: it hears nothing more about that channel."""
        for nick in [n for n, chans in self._channels.items() if casefold(channel) in chans]:
            self.parted(nick, channel)

    def renamed(self, old: str, new: str) -> None:
        old_key, new_key = casefold(old), casefold(new)
        if old_key in self._channels:
            self._channels[new_key] = self._channels.pop(old_key)
        if old_key in self._accounts:
            account = self._accounts.pop(old_key)
            self._accounts[new_key] = account
            if account is not None:
                self._nick_of[casefold(account)] = new

    def gone(self, nick: str) -> None:
        key = casefold(nick)
        self._channels.pop(key, None)
        account = self._accounts.pop(key, None)
        if account is not None and casefold(self._nick_of.get(casefold(account), "")) == key:
            del self._nick_of[casefold(account)]

    def account(self, nick: str) -> tuple[bool, str | None]:
        """(known, account): whether we know, and the account (None: not logged in)."""
        key = casefold(nick)
        if key not in self._accounts:
            return False, None
        return True, self._accounts[key]

    def nick_for(self, account: str) -> str | None:
        return self._nick_of.get(casefold(account))

    def _set(self, nick: str, account: str | None) -> None:
        key = casefold(nick)
        previous = self._accounts.get(key)
        if previous is not None and casefold(self._nick_of.get(casefold(previous), "")) == key:
            del self._nick_of[casefold(previous)]
        self._accounts[key] = account
        if account is not None:
            self._nick_of[casefold(account)] = nick
