"""Matrix timeline events as the bot's Inbound, pure: no I/O, no client state.

People are their mxid; display names are never trusted. Only text messages count: the bot's
own, edits (the original was already answered) and other event types are not for it, nor is
a room that is neither direct nor configured; each message not taken comes with the reason.
Where a conversation from a room goes on (a direct room, the room itself, or a thread in it)
follows `conversation`.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nio import RoomMessage, RoomMessageText

from adapters.relay import bridge_reason, listed, relayed_line
from bot.model import ExternalId, Identity, Inbound, Network, RoomRef

MATRIX = Network("matrix")
DM_ROOM = "dm:"  # a person's direct room, found or made when the first message goes out
THREAD = "|thread:"  # room id THREAD root event id: a conversation in a thread of a room
BRIDGE_STATE = ("m.bridge", "uk.half-shot.bridge")  # MSC2346, and its older name


@dataclass(frozen=True)
class RoomView:
    """What translation needs to know of the room an event came in."""

    room_id: str
    alias: str = ""  # its canonical alias, if any
    # Invited to as direct, or opened by the bot: a small room is not a direct one just
    # because two people are in it.
    direct: bool = False
    configured: bool = False  # one of adapters.matrix.rooms (or joined as one)
    members: int = 0  # joined and invited, the bot included; 0: not known
    bridges: tuple[str, ...] = ()  # the bridge bots its m.bridge state events name
    partner: str = ""  # in a direct room: the person the bot shares it with


@dataclass(frozen=True)
class Skipped:
    """An event the bot does not take, and why in words for the log ("": not a message, or
    the bot's own, which need no word)."""

    reason: str


_NOT_TEXT = {"m.notice": "a notice (m.notice), which is what bots send: never a command",
             "m.emote": "an emote (/me)", "m.image": "an image", "m.file": "a file",
             "m.audio": "an audio message", "m.video": "a video", "m.location": "a location"}


def read_event(room: RoomView, event: Any, *, me: str, conversation: str = "private",
               threads: Container[str] = (), ignore_senders: Sequence[str] = ()
               ) -> Inbound | Skipped:
    """A text message as the bot's Inbound, or why it is not one. `threads`: the roots of
    the threads the bot talks in (words there are meant for it, like those in a direct
    room). Bridge and bot accounts (the room's bridge bots, `ignore_senders`) are never
    taken, nor a line in a relay's format in a shared room.

    A direct room is one where only the person and the bot are: one the bot recorded as
    direct (an invite marked so, or a room it opened), or any other room of just the two of
    them that is not a configured room. A room where someone else joined is never taken
    as direct, so no private answer goes where a third person reads it."""
    if not isinstance(event, RoomMessage) or event.sender == me:
        return Skipped("")
    body = event.source.get("content", {}).get("body")
    body = body if isinstance(body, str) else ""
    bridge = listed([event.sender], (*room.bridges, *ignore_senders))
    if bridge:
        setting = "the room's m.bridge state" if bridge in room.bridges else \
            "adapters.matrix.ignore_senders"
        return Skipped(bridge_reason(event.sender, body, bridge, setting))
    if not isinstance(event, RoomMessageText):
        msgtype = event.source.get("content", {}).get("msgtype", "")
        return Skipped(f"{_NOT_TEXT.get(msgtype, f'a message of type {msgtype!r}')}: the "
                       "bot reads text messages (m.text) only")
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    if not isinstance(relates, dict):
        relates = {}
    if relates.get("rel_type") == "m.replace":
        return Skipped("an edit: the original message was answered")
    sender = Identity(MATRIX, ExternalId(event.sender), True)
    thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
    two_of_us = 0 < room.members <= 2 or (room.members == 0 and room.direct)
    direct = two_of_us and (room.direct or not room.configured)
    relayed = relayed_line(body)
    if direct:
        target = RoomRef(MATRIX, room.room_id, room.alias, direct=True)
    elif relayed is not None and room.configured:
        # An unlisted relay bot in a shared room: the person it speaks for was answered on
        # their own network, if at all.
        return Skipped(f"a line relayed for {relayed} (its format), from {event.sender}, "
                       "which is not in adapters.matrix.ignore_senders")
    elif room.direct and not room.configured and event.sender == room.partner:
        # Their direct room, where someone else joined: words still meant for the bot, but
        # the answer goes to a room of just the two of them (opened if need be).
        target = RoomRef(MATRIX, DM_ROOM + event.sender, room.alias, direct=True)
    elif not room.configured:
        what = "a direct room" if room.direct else "a room"
        return Skipped(f"{what} of {room.members} members that is not one of "
                       "adapters.matrix.rooms: the bot answers there only while the person "
                       "and the bot are alone in it")
    elif conversation == "room":
        target = RoomRef(MATRIX, room.room_id, room.alias)
    elif conversation == "thread":
        # Words in a thread the bot talks in are meant for it (direct), but everyone in the
        # room reads the thread: its replies are not direct (private answers are refused).
        target = RoomRef(MATRIX, f"{room.room_id}{THREAD}{thread or event.event_id}",
                         room.alias, direct=False)
        direct = thread in threads
    else:
        target = RoomRef(MATRIX, DM_ROOM + event.sender, room.alias, direct=True)
    at = datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
    return Inbound(MATRIX, event.event_id, target, sender, event.body, direct, at)


def inbound_from_event(room: RoomView, event: Any, *, me: str, conversation: str = "private",
                       threads: Container[str] = (), ignore_senders: Sequence[str] = ()
                       ) -> Inbound | None:
    """`read_event`'s Inbound, or None for what the bot does not take."""
    read = read_event(room, event, me=me, conversation=conversation, threads=threads,
                      ignore_senders=ignore_senders)
    return read if isinstance(read, Inbound) else None
