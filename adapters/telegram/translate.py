"""Telegram updates as the bot's Inbound, pure: no I/O (the client points group /start to a
private chat; a pressed button is acknowledged through the outbox once its turn commits).

People are their numeric user id, never their username. Forwarded text and media are not
someone speaking to the bot; a message sent as a channel or by an anonymous group admin is
nobody we can hold to a role.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import CallbackQuery, Message, Update

from adapters.relay import bridge_reason, listed, relayed_line
from adapters.telegram.render import ANONYMOUS_ADMIN
from bot.model import ExternalId, Identity, Inbound, Network, Press, RoomRef

TELEGRAM = Network("telegram")
PAYLOAD = re.compile(r"^[A-Za-z0-9_]{4,64}$")
# From a group without a username: its chat id (a username never starts with "-").
GROUP_PAYLOAD = re.compile(r"^-[0-9]{1,20}$")
START = re.compile(r"^[/!]start(?:@\w+)?(?:\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class GroupStart:
    """`/start` in a group: answered with a deep link into a private chat, not by the bot."""

    message: Message


@dataclass(frozen=True)
class Pressed:
    """A pressed choice. Its inbound carries the press, so the answer to the callback and the
    label marked in the message go out through the outbox with the committed turn."""

    query: CallbackQuery
    label: str
    inbound: Inbound | None


def inbound_from_message(message: Message, update_id: int, bot_username: str) -> Inbound | None:
    """A Telegram message as a neutral Inbound; None for what is not someone speaking."""
    if message.forward_origin is not None or not message.text:
        return None  # forwarded text is not the sender's command; media is not for us
    chat = message.chat
    direct = chat.type == "private"
    sender = message.from_user
    if message.sender_chat is not None or sender is None or sender.id == ANONYMOUS_ADMIN:
        # Sent as a channel or by an anonymous admin: nobody we can hold to a role.
        who = message.sender_chat.id if message.sender_chat else chat.id
        identity = Identity(TELEGRAM, ExternalId(f"chat:{who}"), verified=False)
    else:
        identity = Identity(TELEGRAM, ExternalId(str(sender.id)), verified=True)
    # The language of the person's app (IETF, "pt-br"): their default until they choose one.
    language = (sender.language_code or "") if sender is not None and identity.verified else ""
    text = message.text
    room_name = chat.title or ""
    if chat.username:
        room_name = f"https://t.me/{chat.username}"
    start = START.match(text)
    if direct and start:
        payload = text[start.end():].strip()
        if GROUP_PAYLOAD.match(payload):  # the group's chat id, which content maps
            text, room_name = "/start", payload
        elif PAYLOAD.match(payload):  # a deep link from a project's group
            text, room_name = "/start", f"https://t.me/{payload}"
    room = RoomRef(TELEGRAM, str(chat.id), room_name, direct)
    at = message.date or datetime.now(UTC)
    return Inbound(TELEGRAM, str(update_id), room, identity, text, direct, at,
                   language=language)


def pressed(query: CallbackQuery, update_id: int, now: datetime | None = None) -> Pressed:
    """A pressed button: the choice's data (its number) from the person who pressed it,
    in the chat of the message that carried the keyboard."""
    message = query.message
    if not isinstance(message, Message) or not query.data:
        return Pressed(query, "", None)
    label = next((b.text for row in (message.reply_markup.inline_keyboard
                                     if message.reply_markup else ())
                  for b in row if b.callback_data == query.data), query.data)
    chat = message.chat
    direct = chat.type == "private"
    room = RoomRef(TELEGRAM, str(chat.id), chat.title or "", direct)
    press = Press(query.id, str(message.message_id), message.text or "", label)
    inbound = Inbound(TELEGRAM, str(update_id), room,
                      Identity(TELEGRAM, ExternalId(str(query.from_user.id)), True), query.data,
                      direct, now or datetime.now(UTC), press=press,
                      language=query.from_user.language_code or "")
    return Pressed(query, label, inbound)


def translate(update: Update, bot_username: str) -> Inbound | GroupStart | Pressed | None:
    """What an update means: someone speaking, a button pressed, /start in a group, or
    nothing for the bot (None)."""
    if update.callback_query is not None:
        return pressed(update.callback_query, update.update_id)
    message = update.message
    if message is None:
        return None
    if message.chat.type != "private" and message.text and START.match(message.text):
        return GroupStart(message)
    return inbound_from_message(message, update.update_id, bot_username)


def relayed_reason(update: Update, ignore_senders: Sequence[str]) -> str:
    """Why a message is relayed rather than said to the bot ("" when it is said): from an
    account in `ignore_senders` (a user id or @username pattern: a relay's user account),
    or, in a group, in a relay's format ("[irc] <ana> /start")."""
    message = update.message
    if message is None or not message.text:
        return ""
    user = message.from_user
    who = [str(user.id), f"@{user.username}" if user.username else ""] if user else []
    matched = listed(who, ignore_senders)
    if matched:
        return bridge_reason(who[0], message.text, matched, "adapters.telegram.ignore_senders")
    line = relayed_line(message.text) if message.chat.type != "private" else None
    if line is not None:
        sender = who[0] if who else "a channel"
        return (f"a line relayed for {line} (its format), from {sender}, which is not in "
                "adapters.telegram.ignore_senders")
    return ""
