"""IRC lines as the bot's Inbound, pure: no I/O, no connection state.

Who sent a message is their services account when the network proves one (the account tag on
the line, or what the roster learned from extended-join, account-notify and WHOX), else their
nick, unverified, in its own id space: `~` and the casefolded nick. No nick or services account
can start with `~`, so an unverified nick never equals an account's id (the nick "ana" without a
login is not the account "ana"). A message's id is its msgid tag, else a digest of its server
time, source, target and text, so a line the server replays (chathistory) is recognised as the
same event.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.irc import lean_schedule  # noqa: F401  (before irc.client loads tempora)

# isort: split

from irc import events, message
from irc.client import Event, NickMask, _rfc_1459_command_regexp

from adapters.irc.render import casefold
from adapters.relay import bridge_reason, listed, relayed_line
from bot.model import ExternalId, Identity, Inbound, Network, RoomRef

IRC = Network("irc")
# Direct conversations are keyed by who is at the other end, not by a nick that may change.
ACCOUNT_ROOM, NICK_ROOM = "account:", "nick:"
NOT_LOGGED_IN = ("You're not logged in to services (NickServ), so I can't tell that this nick "
                 "is really yours.")
NO_ACCOUNTS = ("This IRC server can't prove who is logged in to which account, so privileged "
               "commands are off here.")
UNVERIFIED = "~"  # an unverified identity's id: "~" + the casefolded nick
ACCOUNT_CAPS = frozenset({"account-tag", "account-notify", "extended-join"})


def tag(event: Event, key: str) -> str | None:
    """The value of an IRCv3 message tag, or None; a tag without a value is ""."""
    for item in event.tags or ():
        if item["key"] == key:
            return str(item["value"] or "")
    return None


def message_event(arguments: list[str], command: str, source: Any, tags: Any) -> Event:
    """A PRIVMSG or NOTICE as one event. jaraco splits a message around embedded CTCP into
    several events (sharing one msgid tag); keep it whole, and mark a message that starts as
    CTCP as such."""
    target, text = [*arguments, "", ""][:2]
    channel = target[:1] in "#&+!" and target != ""
    if text.startswith("\x01"):
        kind = "ctcp" if command == "privmsg" else "ctcpreply"
    elif command == "privmsg":
        kind = "pubmsg" if channel else "privmsg"
    else:
        kind = "pubnotice" if channel else "privnotice"
    return Event(kind, source, target, [text], tags)


def event_from_line(line: str) -> Event:
    """One raw line (tags, prefix, command, arguments) parsed as the connection parses it."""
    match = _rfc_1459_command_regexp.match(line.rstrip("\r\n"))
    if match is None:
        raise ValueError(f"not an IRC line: {line!r}")
    group = match.group
    source = NickMask.from_group(group("prefix"))
    command = events.Command.lookup(group("command"))
    arguments = message.Arguments.from_group(group("argument"))
    tags = message.Tag.from_group(group("tags"))
    if command in ("privmsg", "notice"):
        return message_event(arguments, command, source, tags)
    return Event(command, source, arguments[0] if arguments else None, arguments[1:], tags)


def nick_identity(nick: str) -> Identity:
    """Whoever holds `nick` and is not logged in: never the same id as an account."""
    return Identity(IRC, ExternalId(UNVERIFIED + casefold(nick)), False)


def nick_of_unverified(external_id: str) -> str:
    """The nick an unverified identity stands for (ids stored before the prefix have none)."""
    return external_id.removeprefix(UNVERIFIED)


def dm_room(identity: Identity) -> RoomRef:
    if identity.verified:
        return RoomRef(IRC, ACCOUNT_ROOM + identity.external_id, direct=True)
    return RoomRef(IRC, NICK_ROOM + nick_of_unverified(identity.external_id), direct=True)


def server_time(event: Event, now: datetime | None = None) -> datetime:
    stamp = tag(event, "time")
    if stamp:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return now or datetime.now(UTC)


def is_person(nick: str, me: str) -> bool:
    """Not our own echo and not a server (server names have dots, nicks never do)."""
    return bool(nick) and casefold(nick) != casefold(me) and "." not in nick


def sender_of(nick: str, account: str | None, caps: Collection[str]) -> tuple[Identity, str]:
    """The sender, and why they are unverified (empty when they are verified)."""
    if account and not account.startswith(UNVERIFIED):
        return Identity(IRC, ExternalId(account), True), ""
    proves = bool(ACCOUNT_CAPS & set(caps))
    return nick_identity(nick), NOT_LOGGED_IN if proves else NO_ACCOUNTS


def event_id(event: Event, unique: str) -> str:
    """The msgid tag, else a digest of server time, source, target and text. Without either
    no replay can happen, and `unique` (distinct per process) keeps ids apart."""
    msgid = tag(event, "msgid")
    if msgid:
        return f"msgid:{msgid}"
    stamp = tag(event, "time") or unique
    text = str(event.arguments[0]) if event.arguments else ""
    digest = hashlib.sha256(f"{stamp}\0{event.source}\0{event.target}\0{text}".encode())
    return "h:" + digest.hexdigest()[:32]


def inbound_from_message(event: Event, *, me: str, caps: Collection[str],
                         conversation: str = "private", roster_account: str | None = None,
                         unique: str = "") -> Inbound | None:
    """A pubmsg or privmsg as the bot's Inbound; None for anything else, our own echo and
    servers. The account is the line's account tag when the server sends those, else
    `roster_account` (what the connection learned about the nick, None when unknown)."""
    if event.type not in ("pubmsg", "privmsg"):
        return None
    source = NickMask(event.source)
    if not is_person(source.nick, me):
        return None
    channel = str(event.target) if event.type == "pubmsg" else None
    text = str(event.arguments[0]) if event.arguments else ""
    account = tag(event, "account") if "account-tag" in caps else roster_account
    sender, why = sender_of(source.nick, account, caps)
    if channel is not None and conversation == "channel":
        room = RoomRef(IRC, channel, channel)
    else:
        room = dm_room(sender)
        room = RoomRef(IRC, room.id, channel or "", direct=True)
    return Inbound(IRC, event_id(event, unique), room, sender, text, direct=channel is None,
                   at=server_time(event), why_unverified=why)


def relayed_reason(nick: str, account: str | None, text: str, channel: str | None,
                   ignore_senders: Sequence[str]) -> str:
    """Why a line is relayed rather than typed to the bot ("" when it is typed): from a
    bridge or bot account in `ignore_senders` (a nick or services account pattern, e.g. a
    relay bot, or a bridge's puppets "*[m]"), or, in a channel, in a relay's format."""
    matched = listed([nick, account or ""], ignore_senders)
    if matched:
        return bridge_reason(nick, text, matched, "adapters.irc.ignore_senders")
    line = relayed_line(text) if channel is not None else None
    if line is not None:
        return (f"a line relayed for {line} (its format), from {nick}, which is not in "
                "adapters.irc.ignore_senders")
    return ""
