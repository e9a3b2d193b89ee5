"""Matrix through matrix-nio (WIP for issue 4: not yet enabled by `wayfinder run`).

People are their mxid; display names are never trusted. The sync loop is our own: nio's
sync_forever retries an error at once, and nio would save the sync token before the events
are handled. Here the token is written to the store folder only after every event of a sync
has been handled (committed by the engine), so a crash replays instead of losing, and the
inbox drops the replays by event id. Sends carry the outbox row's idempotency key as the
transaction id, so a retry after a crash or timeout cannot duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinError,
    LoginError,
    MatrixRoom,
    RoomCreateError,
    RoomMemberEvent,
    RoomMessageText,
    RoomPreset,
    RoomSendError,
    SyncError,
    SyncResponse,
)

from adapters.matrix_render import render_content
from bot.config import MatrixConfig
from bot.model import (
    Capabilities,
    ExternalId,
    Identity,
    Inbound,
    Network,
    Outbound,
    Rate,
    Receipt,
    RoomRef,
)
from bot.ports import AdapterFatalError, InboundSink, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

MATRIX = Network("matrix")
DM_ROOM = "dm:"  # a person's direct room, found or made when the first message goes out
SYNC_TOKEN_FILE = "sync-token"
DM_ROOMS_FILE = "dm-rooms.json"


def homeserver_of(mxid: str) -> str:
    return mxid.split(":", 1)[1] if ":" in mxid else ""


class MatrixAdapter:
    network = MATRIX

    def __init__(self, config: MatrixConfig, secret: str, pickle_key: str,
                 secret_is_token: bool = False) -> None:
        self.config = config
        self.secret = secret
        self.secret_is_token = secret_is_token
        self.pickle_key = pickle_key
        self.capabilities = Capabilities(html=True, max_len=30_000, idempotent=True,
                                         rate=Rate(config.messages_per_second, 10))
        self.store = Path(config.store_path)
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()
        self._sink: InboundSink | None = None
        self._dm_rooms: dict[str, str] = {}
        self._dm_lock = asyncio.Lock()
        self._configured: set[str] = set()

    # -- the connection's life -----------------------------------------------------------
    async def run(self, sink: InboundSink) -> None:
        self._sink = sink
        await asyncio.to_thread(self.store.mkdir, parents=True, exist_ok=True)
        self._dm_rooms = await asyncio.to_thread(self._read_json, DM_ROOMS_FILE, {})
        client = AsyncClient(self.config.homeserver, self.config.user_id,
                             device_id=self.config.device_id, store_path=str(self.store),
                             config=AsyncClientConfig(store_sync_tokens=False,
                                                      encryption_enabled=True,
                                                      pickle_key=self.pickle_key))
        self.client = client
        try:
            await self._login(client)
            token = await asyncio.to_thread(self._read_text, SYNC_TOKEN_FILE)
            if token is None:  # the first start: skip history, answer from now on
                first = await client.sync(timeout=0, full_state=True)
                if isinstance(first, SyncError):
                    raise ConnectionError(f"first sync failed: {first}")
                await self._save_token(first.next_batch)
                token = first.next_batch
            await self._join_configured(client)
            self.ready.set()
            await self._sync_loop(client, token)
        finally:
            self.ready.clear()
            await client.close()

    async def _login(self, client: AsyncClient) -> None:
        if self.secret_is_token:
            client.restore_login(self.config.user_id, self.config.device_id, self.secret)
            return
        answer = await client.login(self.secret, device_name=self.config.device_name)
        if isinstance(answer, LoginError):
            raise AdapterFatalError(
                f"matrix: login as {self.config.user_id} on {self.config.homeserver} failed: "
                f"{answer.message}. Check adapters.matrix.user_id and the password in "
                f"${self.config.password_env}.")
        if client.should_upload_keys:
            await client.keys_upload()

    async def _join_configured(self, client: AsyncClient) -> None:
        for room in self.config.rooms:
            answer = await client.join(room)
            if isinstance(answer, JoinError):
                log.warning("matrix: could not join %s: %s", room, answer.message)
            else:
                self._configured.add(answer.room_id)

    async def _sync_loop(self, client: AsyncClient, token: str) -> None:
        failures = 0
        while True:
            try:
                answer = await client.sync(
                    timeout=int(self.config.sync_timeout_seconds * 1000), since=token)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                answer = SyncError(f"{type(exc).__name__}: {exc}")
            if isinstance(answer, SyncError):
                failures += 1
                delay = min(self.config.backoff_max_seconds, 2.0 ** (failures - 1))
                log.warning("matrix: sync failed (%s); next try in about %.0f s", answer,
                            delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                continue
            failures = 0
            await self._handle(client, answer)
            await self._keys(client)
            token = answer.next_batch
            await self._save_token(token)

    async def _keys(self, client: AsyncClient) -> None:
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()

    # -- inbound -------------------------------------------------------------------------
    async def _handle(self, client: AsyncClient, answer: SyncResponse) -> None:
        for room_id, info in answer.rooms.invite.items():
            await self._on_invite(client, room_id, info.invite_state)
        per_sender: dict[str, list[Inbound]] = defaultdict(list)
        for room_id, info in answer.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None:
                continue
            if self._left_alone(room, info.timeline.events):
                log.info("matrix: leaving %s: everyone else has left", room_id)
                await client.room_leave(room_id)
                continue
            for event in info.timeline.events:
                inbound = self._inbound(room, event)
                if inbound is not None:
                    per_sender[inbound.sender.external_id].append(inbound)
        await asyncio.gather(*(self._deliver(items) for items in per_sender.values()))

    def _left_alone(self, room: MatrixRoom, events: list[Any]) -> bool:
        """Someone left in this sync and now nobody but the bot is in (or invited to) the
        room. Judged only on a leave: right after creating a room nio's view of its members
        is still partial."""
        someone_left = any(isinstance(e, RoomMemberEvent) and e.membership == "leave" and
                           e.state_key != self.config.user_id for e in events)
        alone = room.joined_count + room.invited_count <= 1
        return someone_left and alone and room.room_id not in self._configured

    async def _deliver(self, items: list[Inbound]) -> None:
        if self._sink is None:
            return
        for inbound in items:  # one sender's messages in order; senders in parallel
            await self._sink(inbound)

    async def _on_invite(self, client: AsyncClient, room_id: str, state: list[Any]) -> None:
        inviter = next((e.sender for e in state if isinstance(e, InviteMemberEvent) and
                        e.state_key == self.config.user_id), "")
        allowed = homeserver_of(inviter) in self.allowed_homeservers
        if not allowed and room_id not in self.config.rooms:
            log.info("matrix: declined an invite to %s from %s", room_id, inviter)
            await client.room_leave(room_id)
            return
        answer = await client.join(room_id)
        if isinstance(answer, JoinError):
            log.warning("matrix: could not join %s: %s", room_id, answer.message)
            return
        direct = next((bool(e.content.get("is_direct")) for e in state
                       if isinstance(e, InviteMemberEvent) and
                       e.state_key == self.config.user_id), False)
        if direct and inviter:
            self._dm_rooms.setdefault(inviter, room_id)
            await self._save_dm_rooms()

    @property
    def allowed_homeservers(self) -> set[str]:
        return set(self.config.allowed_homeservers) or {homeserver_of(self.config.user_id)}

    def _inbound(self, room: MatrixRoom, event: Any) -> Inbound | None:
        if not isinstance(event, RoomMessageText) or event.sender == self.config.user_id:
            return None
        relates = event.source.get("content", {}).get("m.relates_to", {})
        if relates.get("rel_type") == "m.replace":
            return None  # an edit: the original was already answered
        sender = Identity(MATRIX, ExternalId(event.sender), True)
        # Direct rooms are the ones invited to as direct, or opened by the bot; a small
        # room is not a direct one just because two people are in it.
        direct = room.room_id in self._dm_rooms.values()
        name = room.canonical_alias or ""
        if direct:
            target = RoomRef(MATRIX, room.room_id, name, direct=True)
        elif self.config.conversation == "room":
            target = RoomRef(MATRIX, room.room_id, name)
        else:
            target = RoomRef(MATRIX, DM_ROOM + event.sender, name, direct=True)
        at = datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
        return Inbound(MATRIX, event.event_id, target, sender, event.body, direct, at)

    # -- outbound ------------------------------------------------------------------------
    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        client = self.client
        if client is None or not self.ready.is_set():
            raise TransientSendError("not connected to the homeserver yet")
        room_id = await self._room_for(client, msg.to)
        answer = await client.room_send(room_id, "m.room.message", render_content(msg),
                                        tx_id=idempotency_key, ignore_unverified_devices=True)
        if isinstance(answer, RoomSendError):
            if answer.status_code == "M_LIMIT_EXCEEDED":
                raise TransientSendError(str(answer), (answer.retry_after_ms or 1000) / 1000)
            if answer.status_code in ("M_FORBIDDEN", "M_NOT_FOUND"):
                raise PermanentSendError(str(answer))
            raise TransientSendError(str(answer))
        return Receipt(answer.event_id)

    async def _room_for(self, client: AsyncClient, to: RoomRef | Identity) -> str:
        if isinstance(to, Identity):
            return await self._dm_room(client, to.external_id)
        if to.id.startswith(DM_ROOM):
            return await self._dm_room(client, to.id.removeprefix(DM_ROOM))
        return to.id

    async def _dm_room(self, client: AsyncClient, mxid: str) -> str:
        async with self._dm_lock:
            room_id = self._dm_rooms.get(mxid)
            if room_id is not None and room_id in client.rooms:
                return room_id
            initial = [{"type": "m.room.encryption", "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] \
                if self.config.encrypt_direct_rooms else []
            answer = await client.room_create(is_direct=True, invite=[mxid],
                                              preset=RoomPreset.trusted_private_chat,
                                              initial_state=initial)
            if isinstance(answer, RoomCreateError):
                raise TransientSendError(f"could not open a direct room with {mxid}: "
                                         f"{answer.message}")
            self._dm_rooms[mxid] = answer.room_id
            await self._save_dm_rooms()
            await client.sync(timeout=0)  # nio sends only to rooms it knows
            return str(answer.room_id)

    # -- the store folder ------------------------------------------------------------------
    def _read_text(self, name: str) -> str | None:
        path = self.store / name
        return path.read_text().strip() or None if path.exists() else None

    def _read_json(self, name: str, default: dict[str, str]) -> dict[str, str]:
        text = self._read_text(name)
        return dict(json.loads(text)) if text else default

    def _write(self, name: str, text: str) -> None:
        temporary = self.store / f".{name}.tmp"
        with open(temporary, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.store / name)

    async def _save_token(self, token: str) -> None:
        await asyncio.to_thread(self._write, SYNC_TOKEN_FILE, token)

    async def _save_dm_rooms(self) -> None:
        with contextlib.suppress(OSError):
            await asyncio.to_thread(self._write, DM_ROOMS_FILE, json.dumps(self._dm_rooms))
