"""Who is logged in to which services account, as far as this connection can see.

Sources: the account message tag (authoritative for the message it is on), extended-join,
account-notify and WHOX replies. An account is trusted for a nick only while the server will
tell us when that nick changes hands: while the bot shares a channel with it (QUIT, NICK, PART,
account-notify) or while the nick is on the bot's MONITOR list and online (RPL_MONONLINE
seen, or a WHOX answer; RPL_MONOFFLINE when it quits or changes nick). A monitored nick that is
not online yet is not trusted: extended-monitor reports a login during registration, before
the nick can receive anything. Once neither holds, the entry is dropped rather than trusted
stale; on a server without MONITOR an account tag seen outside shared channels is trusted for
`FRESH_SECONDS` only, for the answer to that message.

The nick an account last used is kept apart, bounded, as a hint where to look for the account
again (MONITOR it, then WHOX it): never as proof.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from adapters.irc.render import casefold

FRESH_SECONDS = 30.0
HINTS_MAX = 10_000  # accounts whose last nick is remembered


@dataclass
class Roster:
    clock: Callable[[], float] = time.monotonic
    on_account: Callable[[str], None] | None = None  # told when an account gets a nick
    _accounts: dict[str, str | None] = field(default_factory=dict)  # nick -> account or None
    _channels: dict[str, set[str]] = field(default_factory=dict)  # nick -> shared channels
    _monitored: set[str] = field(default_factory=set)  # nicks on our MONITOR list
    _online: set[str] = field(default_factory=set)  # monitored nicks the server says are on
    _nick_of: dict[str, str] = field(default_factory=dict)  # account -> nick, as typed
    # account -> (nick, when): seen on a tag outside our view, with no MONITOR to follow it
    _fresh: dict[str, tuple[str, float]] = field(default_factory=dict)
    _hints: OrderedDict[str, str] = field(default_factory=OrderedDict)  # account -> last nick

    def clear(self) -> None:
        """A new connection: it knows nothing yet (the hints stay: they prove nothing)."""
        self._accounts.clear()
        self._channels.clear()
        self._monitored.clear()
        self._online.clear()
        self._nick_of.clear()
        self._fresh.clear()

    def watched(self, nick: str) -> bool:
        """The server tells us when this nick changes hands."""
        key = casefold(nick)
        return key in self._channels or (key in self._monitored and key in self._online)

    def present(self, nick: str) -> bool:
        """Somebody holds `nick` now, as far as we can see: in a shared channel, or a
        monitored nick the server says is online."""
        key = casefold(nick)
        return key in self._channels or key in self._online

    def is_online(self, nick: str) -> bool:
        """A monitored nick the server says is online."""
        return casefold(nick) in self._online

    def joined(self, nick: str, channel: str, account: str | None = None,
               known: bool = False) -> None:
        """`nick` is in `channel`; with `known`, `account` is what the server says (None:
        not logged in)."""
        key = casefold(nick)
        self._channels.setdefault(key, set()).add(casefold(channel))
        if known:
            self._set(nick, account)

    def account_changed(self, nick: str, account: str | None) -> None:
        if self.watched(nick):
            self._set(nick, account)

    def seen_with_tag(self, nick: str, account: str | None) -> None:
        """The account tag on a message is the truth for that message. It is kept for nicks
        whose changes we will hear about; for others only briefly (see `FRESH_SECONDS`)."""
        if self.watched(nick):
            self._set(nick, account)
        elif account is not None:
            now = self.clock()
            if len(self._fresh) >= HINTS_MAX:  # keep it bounded: expired ones go first
                self._fresh = {a: (n, t) for a, (n, t) in self._fresh.items()
                               if now - t <= FRESH_SECONDS}
            self._fresh[casefold(account)] = (nick, now)
            self._hint(account, nick)
            if self.on_account is not None:
                self.on_account(account)

    def who_reply(self, nick: str, account: str | None) -> None:
        """A WHOX answer about `nick`: what it is logged in to right now (and it is online)."""
        if casefold(nick) in self._monitored:
            self._online.add(casefold(nick))
        self.seen_with_tag(nick, account)

    def monitored(self, nick: str) -> None:
        """`nick` is on our MONITOR list: the server will say when it goes or comes."""
        self._monitored.add(casefold(nick))

    def unmonitored(self, nick: str) -> None:
        key = casefold(nick)
        self._monitored.discard(key)
        self._online.discard(key)
        if key not in self._channels:
            self._forget(key)

    def online(self, nick: str) -> None:
        """RPL_MONONLINE: somebody holds the monitored nick (who: ask WHOX)."""
        if casefold(nick) in self._monitored:
            self._online.add(casefold(nick))

    def offline(self, nick: str) -> None:
        """RPL_MONOFFLINE: nobody holds the nick now (it quit or changed nick)."""
        self._channels.pop(casefold(nick), None)
        self._online.discard(casefold(nick))
        self._forget(casefold(nick))

    def parted(self, nick: str, channel: str) -> None:
        key = casefold(nick)
        channels = self._channels.get(key)
        if channels is None:
            return
        channels.discard(casefold(channel))
        if not channels:
            del self._channels[key]
            if not self.watched(nick):
                self._forget(key)

    def left_channel(self, channel: str) -> None:
        """The bot itself left or was kicked: it hears nothing more about that channel."""
        for nick in [n for n, chans in self._channels.items() if casefold(channel) in chans]:
            self.parted(nick, channel)

    def renamed(self, old: str, new: str) -> None:
        old_key, new_key = casefold(old), casefold(new)
        if old_key in self._channels:
            self._channels[new_key] = self._channels.pop(old_key)
        self._online.discard(old_key)  # a monitored new nick is reported online by MONITOR
        account = self._accounts.pop(old_key, None) if old_key in self._accounts else None
        self._forget(old_key)
        if account is not None and self.watched(new):
            self._set(new, account)

    def gone(self, nick: str) -> None:
        """The nick quit: whoever takes it next is somebody else."""
        key = casefold(nick)
        self._channels.pop(key, None)
        self._online.discard(key)
        self._forget(key)

    def account(self, nick: str) -> tuple[bool, str | None]:
        """(known, account): whether we know, and the account (None: not logged in)."""
        key = casefold(nick)
        if key not in self._accounts:
            return False, None
        return True, self._accounts[key]

    def nick_for(self, account: str) -> str | None:
        """The nick logged in to `account` now, or None when we cannot be sure of one."""
        key = casefold(account)
        nick = self._nick_of.get(key)
        if nick is not None:
            return nick
        fresh = self._fresh.get(key)
        if fresh is not None:
            if self.clock() - fresh[1] <= FRESH_SECONDS:
                return fresh[0]
            del self._fresh[key]
        return None

    def last_nick(self, account: str) -> str | None:
        """Where the account was last seen: a place to look, not proof."""
        return self._hints.get(casefold(account))

    def _hint(self, account: str, nick: str) -> None:
        key = casefold(account)
        self._hints[key] = nick
        self._hints.move_to_end(key)
        while len(self._hints) > HINTS_MAX:
            self._hints.popitem(last=False)

    def _forget(self, key: str) -> None:
        """Drop what we knew about the nick `key` (casefolded), and anything pointing at it."""
        account = self._accounts.pop(key, None)
        if account is not None and casefold(self._nick_of.get(casefold(account), "")) == key:
            del self._nick_of[casefold(account)]
        if self._fresh:
            for acc in [a for a, (n, _) in self._fresh.items() if casefold(n) == key]:
                del self._fresh[acc]

    def _set(self, nick: str, account: str | None) -> None:
        key = casefold(nick)
        previous = self._accounts.get(key)
        if previous is not None and casefold(self._nick_of.get(casefold(previous), "")) == key:
            del self._nick_of[casefold(previous)]
        self._accounts[key] = account
        if account is not None:
            self._nick_of[casefold(account)] = nick
            self._fresh.pop(casefold(account), None)
            self._hint(account, nick)
            if self.on_account is not None:
                self.on_account(account)
