"""Room-key requests from the devices of a room's members, under trust on first use.

nio answers key requests only from the bot's own devices. A member's device that missed a key
(a new login, a lost session) asks the device that sent the message: the bot forwards the key
of one of its own messages when

- the message's session was started by the bot (its sender key is the bot's),
- the person asking was in the room (joined or invited) when the bot started that session,
  and still is: the message was meant for them,
- the asking device is one the bot has seen in their device list and has not blacklisted
  (trust on first use: not verified, since nobody can verify a newcomer's fresh session).

Everything else is refused and logged with the reason. A device without an Olm session with
the bot waits while nio claims one of its one-time keys (the next sync), at most
`PENDING_SECONDS`. Which members each session was started for is kept in the store folder,
so a restart does not forget it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import AsyncClient, RoomKeyRequest

log = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"
SESSIONS_FILE = "session-members.json"
SESSIONS_KEPT = 5000  # the newest sessions; a request for an older one is refused
PENDING_SECONDS = 120.0  # a request waiting for an Olm session with its device
PENDING_MAX = 500
WAIT = "wait"  # for the device's keys or an Olm session with it


@dataclass
class Pending:
    request: RoomKeyRequest
    since: float


class KeyShare:
    def __init__(self, folder: Path) -> None:
        self.path = folder / SESSIONS_FILE
        self.sessions: dict[str, tuple[str, list[str]]] = {}  # session -> room, members
        self.pending: list[Pending] = []
        self.forwarded = 0  # keys sent to members' devices (tests, metrics)
        self._saving = asyncio.Lock()

    async def load(self) -> None:
        def read() -> dict[str, Any]:
            if not self.path.exists():
                return {}
            loaded = json.loads(self.path.read_text() or "{}")
            return loaded if isinstance(loaded, dict) else {}

        for session, value in (await asyncio.to_thread(read)).items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
                self.sessions[str(session)] = (str(value[0]), [str(m) for m in value[1]])

    async def sent(self, client: AsyncClient, room_id: str) -> None:
        """After a send to an encrypted room: remember whom its session was started for."""
        olm = client.olm
        room = client.rooms.get(room_id)
        session = olm.outbound_group_sessions.get(room_id) if olm is not None else None
        if session is None or room is None or session.id in self.sessions:
            return
        self.sessions[session.id] = (room_id, sorted(room.users))
        while len(self.sessions) > SESSIONS_KEPT:
            del self.sessions[next(iter(self.sessions))]
        snapshot = json.dumps(self.sessions)
        async with self._saving:
            await asyncio.to_thread(self._write, snapshot)

    def _write(self, text: str) -> None:
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(text)
        temporary.replace(self.path)

    def handle(self, client: AsyncClient, events: Iterable[Any]) -> None:
        """Answer this sync's key requests, and those still waiting for a session."""
        now = time.monotonic()
        waiting, self.pending = self.pending, []
        for item in waiting:
            if now - item.since < PENDING_SECONDS:
                self._answer(client, item.request, item.since)
            else:
                self._refuse(item.request, "no Olm session with the device could be made")
        for event in events:
            if isinstance(event, RoomKeyRequest) and event.sender != client.user_id:
                self._answer(client, event, now)

    def _answer(self, client: AsyncClient, event: RoomKeyRequest, since: float) -> None:
        why = self._forward(client, event)
        if why == WAIT:
            if len(self.pending) < PENDING_MAX:
                self.pending.append(Pending(event, since))
        elif why:
            self._refuse(event, why)

    def _forward(self, client: AsyncClient, event: RoomKeyRequest) -> str:
        """Forward the key if the policy allows: "" when done, WAIT, or why not."""
        olm = client.olm
        if olm is None:
            return "end-to-end encryption is off"
        shared = self.sessions.get(event.session_id)
        room = client.rooms.get(event.room_id)
        if event.algorithm != MEGOLM:
            return f"unknown algorithm {event.algorithm}"
        if event.sender_key != olm.account.identity_keys["curve25519"] or shared is None:
            return "not a session of the bot's own messages that it knows"
        if shared[0] != event.room_id or event.sender not in shared[1]:
            return "they were not in the room when the session began"
        if room is None or event.sender not in room.users:
            return "they are no longer in the room"
        device = olm.device_store[event.sender].get(event.requesting_device_id)
        if device is None:
            return WAIT  # the device list comes with the next key query
        if device.blacklisted:
            return "the device is blacklisted"
        group = olm.inbound_group_store.get(event.room_id, event.sender_key, event.session_id)
        if group is None:
            return "the bot no longer holds the session"
        session = olm.session_store.get(device.curve25519)
        if session is None:
            if device not in olm.key_request_devices_no_session:
                olm.key_request_devices_no_session.append(device)  # nio claims a key for it
            return WAIT
        olm.outgoing_to_device_messages.append(
            olm._encrypt_forwarding_key(event.room_id, group, session, device))
        self.forwarded += 1
        log.info("matrix: forwarded the room key of %s in %s to %s's device %s",
                 event.session_id, event.room_id, event.sender, event.requesting_device_id)
        return ""

    @staticmethod
    def _refuse(event: RoomKeyRequest, reason: str) -> None:
        log.info("matrix: not forwarding the room key of %s in %s to %s's device %s: %s",
                 event.session_id, event.room_id, event.sender, event.requesting_device_id,
                 reason)
