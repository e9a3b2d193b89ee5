"""A line typed at the terminal as the bot's Inbound, pure.

Identities are `console:NAME`, verified: the person at the terminal runs the bot. Event ids
are the session and the line's number, so a line is one event even if it is handed over twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model import ExternalId, Identity, Inbound, Network, RoomRef

CONSOLE = Network("console")


def inbound_from_line(line: str, number: int, *, session: str, name: str, room: str = "",
                      now: datetime | None = None) -> Inbound:
    me = Identity(CONSOLE, ExternalId(name), verified=True)
    where = RoomRef(CONSOLE, room or f"console:{name}", room, True)
    return Inbound(CONSOLE, f"{session}:{number}", where, me, line.rstrip("\r\n"), True,
                   now or datetime.now(UTC))
