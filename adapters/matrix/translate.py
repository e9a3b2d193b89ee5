"""Matrix timeline events as the bot's Inbound, pure: no I/O, no client state.

People are their mxid; display names are never trusted. Only text messages count: the bot's
own, edits (the original was already answered) and other event types are not for it, nor is
a room that is neither direct nor configured. Where a conversation from a room goes on (a
direct room, the room itself, or a thread in it) follows `conversation`.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nio import RoomMessageText

from bot.model import ExternalId, Identity, Inbound, Network, RoomRef

MATRIX = Network("matrix")
DM_ROOM = "dm:"  # a person's direct room, found or made when the first message goes out
THREAD = "|thread:"  # room id THREAD root event id: a conversation in a thread of a room


@dataclass(frozen=True)
class RoomView:
    """What translation needs to know of the room an event came in."""

    room_id: str
    alias: str = ""  # its canonical alias, if any
    # Invited to as direct, or opened by the bot: a small room is not a direct one just
    # because two people are in it.
    direct: bool = False
    configured: bool = False  # one of adapters.matrix.rooms (or joined as one)


def inbound_from_event(room: RoomView, event: Any, *, me: str, conversation: str = "private",
                       threads: Container[str] = ()) -> Inbound | None:
    """A text message as the bot's Inbound; None for the bot's own, edits, other event
    types, and rooms that are neither direct nor configured. `threads`: the roots of the
    threads the bot talks in (words there are meant for it, like those in a direct room)."""
    if not isinstance(event, RoomMessageText) or event.sender == me:
        return None
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    if not isinstance(relates, dict):
        relates = {}
    if relates.get("rel_type") == "m.replace":
        return None  # an edit: the original was already answered
    sender = Identity(MATRIX, ExternalId(event.sender), True)
    direct = room.direct
    thread = relates.get("event_id") if relates.get("rel_type") == "m.thread" else None
    if direct:
        target = RoomRef(MATRIX, room.room_id, room.alias, direct=True)
    elif not room.configured:
        return None
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
