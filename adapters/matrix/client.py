"""Matrix through matrix-nio, with end-to-end encryption.

People are their mxid; display names are never trusted. The sync loop is our own: nio's
sync_forever retries an error at once, and nio would save the sync token before the events
are handled. Here the token is written to the store folder only after every event of a sync
has been handled (committed by the engine), so a crash replays instead of losing, and the
inbox drops the replays by event id. Sends carry the outbox row's idempotency key as the
transaction id, so a retry after a crash or timeout cannot duplicate.

nio's own retries are switched off (it would sleep through a 429 or retry a dead homeserver
forever inside one call): a 429 becomes the outbox's retry_after, a connection error a failed
sync that backs off here.

Trust policy for end-to-end keys: the bot shares its room keys with every device of every
member of the room (joined or invited), verified or not, and never with a blacklisted one;
it accepts keys from any device. A new device of a member gets keys from the next message
on: nio starts a new session when a member's device list changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.matrix import lean_nio  # noqa: F401  (before anything loads nio)

# isort: split
import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    EncryptionError,
    InviteMemberEvent,
    JoinError,
    LocalProtocolError,
    LoginError,
    MatrixRoom,
    MegolmEvent,
    RoomCreateError,
    RoomMemberEvent,
    RoomPreset,
    RoomSendError,
    SyncError,
    SyncResponse,
    UploadError,
    WhoamiError,
)

from adapters.matrix.config import MatrixConfig
from adapters.matrix.keyshare import KeyShare
from adapters.matrix.render import file_content, in_thread, render_content
from adapters.matrix.store import MatrixFiles
from adapters.matrix.translate import (
    BRIDGE_STATE,
    DM_ROOM,
    MATRIX,
    THREAD,
    RoomView,
    Skipped,
    read_event,
)
from bot.model import (
    Capabilities,
    FileRef,
    Identity,
    Inbound,
    Outbound,
    Rate,
    Receipt,
)
from bot.ports import AdapterFatalError, InboundSink, PermanentSendError, TransientSendError

log = logging.getLogger(__name__)

ROOM_WAIT_SECONDS = 30.0  # for a room the bot just made to reach it through sync
UNDECRYPTED_KEEP_SECONDS = 600.0  # how long a message waits for its room key
# How long the next long-poll waits for the replies to a sync's messages to go out.
REPLY_GRACE_SECONDS = 0.5
REPLY_START_SECONDS = 0.003  # for the outbox to hand those replies over
UNDECRYPTED_MAX = 1000
THREADS_MAX = 10_000  # thread roots remembered (a reply in an older one is taken as in a room)
NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError)


def homeserver_of(mxid: str) -> str:
    return mxid.split(":", 1)[1] if ":" in mxid else ""


@dataclass
class Undecrypted:
    room: MatrixRoom
    event: MegolmEvent
    since: float


async def maintain_keys(client: AsyncClient) -> None:
    """What nio's sync_forever does between syncs for end-to-end encryption: publish our
    one-time keys, learn members' devices, open sessions with new ones and send the room
    keys queued for them."""
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()


class MatrixAdapter:
    network = MATRIX

    def __init__(self, config: MatrixConfig, secret: str, pickle_key: str,
                 secret_is_token: bool = False,
                 cross_signing: tuple[str, str] | None = None) -> None:
        self.config = config
        self.cross_signing = cross_signing  # (master, self-signing) seeds from the environment
        self.cross_signed: list[str] = []  # what signing did at the start (tests)
        self.secret = secret
        self.secret_is_token = secret_is_token
        self.pickle_key = pickle_key
        self.capabilities = Capabilities(
            html=True, max_len=30_000, idempotent=True, files=True,
            rate=Rate(config.messages_per_second, 10),
            reach_privately=f"send it in a direct message to {config.user_id}: {{line}}")
        self.files = MatrixFiles(Path(config.store_path))
        self.keyshare = KeyShare(Path(config.store_path))
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()
        self.sync_attempts: deque[float] = deque(maxlen=1000)  # monotonic start times
        self.rate_limited = 0  # sends the homeserver answered with 429
        self._sink: InboundSink | None = None
        self._dm_rooms: dict[str, str] = {}  # mxid -> the direct room messages for them go to
        self._direct_rooms: dict[str, str] = {}  # every direct room -> the person in it
        self._bridges: dict[str, dict[str, str]] = {}  # room -> state key -> its bridge bot
        self._dm_lock = asyncio.Lock()
        self._configured: set[str] = set()
        self._threads: dict[str, None] = {}  # roots of the threads the bot talks in, in order
        self._synced = asyncio.Condition()
        self._sending = 0
        self._sends_done = asyncio.Event()
        self._sends_done.set()
        self._undecrypted: list[Undecrypted] = []
        self._saving: set[asyncio.Task[None]] = set()
        self._rooms_lock = asyncio.Lock()

    # -- the connection's life -----------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether messages may go out now (/healthz, the connected gauge)."""
        return self.ready.is_set()

    async def run(self, sink: InboundSink) -> None:
        self._sink = sink
        await self.files.prepare()
        await self.keyshare.load()
        self._dm_rooms = await self.files.dm_rooms()
        self._direct_rooms = await self.files.direct_rooms() or \
            {room: mxid for mxid, room in self._dm_rooms.items()}
        self._threads = dict.fromkeys(await self.files.threads())
        request_timeout = max(60.0, self.config.sync_timeout_seconds + 30)
        client = AsyncClient(
            self.config.homeserver, self.config.user_id, device_id=self.config.device_id,
            store_path=str(self.files.folder),
            config=AsyncClientConfig(store_sync_tokens=False, encryption_enabled=True,
                                     pickle_key=self.pickle_key, max_limit_exceeded=0,
                                     max_timeouts=0, request_timeout=request_timeout))
        self.client = client
        try:
            await self._login(client)
            token = await self.files.sync_token()
            if token is None:  # the first start: skip history, answer from now on
                first = await client.sync(timeout=0, full_state=True)
                if isinstance(first, SyncError):
                    raise ConnectionError(f"first sync failed: {first}")
                await self.files.save_sync_token(first.next_batch)
                token = first.next_batch
            await self._join_configured(client)
            await self._sync_loop(client, token)
        finally:
            self.ready.clear()
            await client.close()

    async def _login(self, client: AsyncClient) -> None:
        if self.secret_is_token:
            client.restore_login(self.config.user_id, await self._token_device(client),
                                 self.secret)
        else:
            answer = await client.login(self.secret, device_name=self.config.device_name)
            if isinstance(answer, LoginError):
                raise AdapterFatalError(
                    f"matrix: login as {self.config.user_id} on {self.config.homeserver} "
                    f"failed: {answer.message}. Check adapters.matrix.user_id and the "
                    f"password in ${self.config.password_env}.")
        if client.should_upload_keys:
            await client.keys_upload()
        if self.cross_signing is not None:
            await self._cross_sign(client)

    async def _cross_sign(self, client: AsyncClient) -> None:
        """Sign the bot's device with its self-signing key (nio cannot). Keys that are not
        keys stop the adapter; a homeserver that refuses is logged and tried at next start:
        the bot works without it, seen as an unverified session."""
        from adapters.matrix.crosssign import CrossSigner, CrossSigningError

        assert self.cross_signing is not None
        try:
            signer = CrossSigner(self.config.homeserver, str(client.user_id),
                                 str(client.device_id), str(client.access_token),
                                 *self.cross_signing,
                                 password="" if self.secret_is_token else self.secret)
        except CrossSigningError as exc:
            raise AdapterFatalError(
                f"matrix: ${self.config.cross_signing_master_key_env} or "
                f"${self.config.cross_signing_self_signing_key_env}: {exc}") from exc
        try:
            self.cross_signed = await signer.run()
        except (CrossSigningError, *NETWORK_ERRORS) as exc:
            log.warning("matrix: could not cross-sign device %s: %s", client.device_id, exc)
            return
        for step in self.cross_signed:
            log.info("matrix: cross-signing: %s", step)

    async def _token_device(self, client: AsyncClient) -> str:
        """The device an access token belongs to: the keys in the store are that device's,
        whatever adapters.matrix.device_id says."""
        client.access_token = self.secret
        who = await client.whoami()
        key = f"${self.config.access_token_env} (adapters.matrix.access_token_env)"
        if isinstance(who, WhoamiError):
            raise AdapterFatalError(f"matrix: {self.config.homeserver} refused the access "
                                    f"token in {key}: {who.message}")
        if who.user_id != self.config.user_id:
            raise AdapterFatalError(f"matrix: the access token in {key} is {who.user_id}'s, "
                                    f"not adapters.matrix.user_id {self.config.user_id}")
        device = who.device_id or self.config.device_id
        if device != self.config.device_id:
            log.warning("matrix: the access token belongs to device %s, not "
                        "adapters.matrix.device_id %s; using %s", device,
                        self.config.device_id, device)
        return device

    async def _join_configured(self, client: AsyncClient) -> None:
        for room in self.config.rooms:
            answer = await client.join(room)
            if isinstance(answer, JoinError):
                log.warning("matrix: could not join %s: %s", room, answer.message)
            else:
                self._configured.add(answer.room_id)

    async def _sync_loop(self, client: AsyncClient, token: str) -> None:
        """Long-poll syncs. The first of each run asks for the full state: nio keeps rooms
        only in memory and must know them all again before it can send to them."""
        failures = unhandled = 0
        full_state = True
        while True:
            self.sync_attempts.append(time.monotonic())
            try:
                answer = await client.sync(
                    timeout=int(self.config.sync_timeout_seconds * 1000), since=token,
                    full_state=full_state)
            except NETWORK_ERRORS as exc:
                answer = SyncError(f"{type(exc).__name__}: {exc}")
            if isinstance(answer, SyncError):
                failures += 1
                delay = min(self.config.backoff_max_seconds, 2.0 ** (failures - 1))
                log.warning("matrix: sync failed (%s); next try in at most %.0f s", answer,
                            delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                continue
            if full_state:
                log.info("matrix: in sync as %s (device %s)", client.user_id, client.device_id)
            failures, full_state = 0, False
            self.ready.set()
            # Members' devices asking for keys of the bot's messages, then keys: a reply this
            # sync causes must reach a device that just appeared.
            self.keyshare.handle(client, answer.to_device_events)
            await self._keys(client)
            handled, failed = await self._handle(client, answer)
            if handled:
                await self._let_replies_out()
            async with self._synced:
                self._synced.notify_all()
            if failed:
                # Not committed: keep the token from before this sync, so the next sync
                # brings its events again (the inbox drops those already committed).
                unhandled += 1
                log.warning("matrix: %d event(s) of a sync were not committed; syncing them "
                            "again", failed)
                await asyncio.sleep(min(self.config.backoff_max_seconds, 0.25 * 2 ** unhandled))
                continue
            unhandled = 0
            token = answer.next_batch
            await self.files.save_sync_token(token)

    async def _keys(self, client: AsyncClient) -> None:
        try:
            await maintain_keys(client)
        except NETWORK_ERRORS as exc:  # the next sync tries again
            log.warning("matrix: key maintenance failed: %s", exc)

    async def _let_replies_out(self) -> None:
        """Hold the next long-poll until the replies to this sync's messages are sent.
        Synapse serves requests one at a time: a waiting sync of the bot's own is woken by
        each of its sends and answered before the send is, which delayed the reply to the
        newcomer by about 10 ms on loopback (bench.matrix). Capped, so a slow send delays
        new messages by at most that."""
        await asyncio.sleep(REPLY_START_SECONDS)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REPLY_GRACE_SECONDS):
                await self._sends_done.wait()

    # -- inbound -------------------------------------------------------------------------
    async def _handle(self, client: AsyncClient, answer: SyncResponse) -> tuple[int, int]:
        """Handle a sync's events: how many messages went to the bot, and how many of them
        failed (were not committed)."""
        for room_id, info in answer.rooms.invite.items():
            await self._on_invite(client, room_id, info.invite_state)
        per_sender: dict[str, list[Inbound]] = defaultdict(list)
        for room, event in self._retry_undecrypted(client):
            self._collect(room, event, per_sender)
        for room_id, info in answer.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None:
                continue
            if self._left_alone(room, info.timeline.events):
                log.info("matrix: leaving %s: everyone else has left", room_id)
                await client.room_leave(room_id)
                continue
            self._learn_bridges(room_id, [*info.state, *info.timeline.events])
            for event in info.timeline.events:
                self._collect(room, event, per_sender)
        failed = await asyncio.gather(*(self._deliver(items) for items in per_sender.values()))
        return sum(len(items) for items in per_sender.values()), sum(failed)

    def _learn_bridges(self, room_id: str, events: list[Any]) -> None:
        """The bridge bots a room's m.bridge (or uk.half-shot.bridge) state names: their
        lines are relayed, never someone speaking to the bot."""
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, dict) or source.get("type") not in BRIDGE_STATE:
                continue
            key = f"{source['type']}|{source.get('state_key', '')}"
            content = source.get("content") or {}
            bot = content.get("bridgebot") if isinstance(content, dict) else None
            known = self._bridges.setdefault(room_id, {})
            if not isinstance(bot, str) or not bot:  # the bridge was removed
                known.pop(key, None)
                continue
            if known.get(key) != bot:
                protocol = content.get("protocol") or {}
                name = protocol.get("id", "?") if isinstance(protocol, dict) else "?"
                log.info("matrix: %s is bridged (%s) by %s: its lines are relayed, not taken%s",
                         room_id, name, bot, "" if self.config.ignore_senders else
                         "; list the bridge's puppet accounts in adapters.matrix."
                         "ignore_senders, or their lines are taken as typed here")
            known[key] = bot

    def _collect(self, room: MatrixRoom, event: Any,
                 per_sender: dict[str, list[Inbound]]) -> None:
        if isinstance(event, MegolmEvent):  # its room key has not arrived (yet)
            if len(self._undecrypted) < UNDECRYPTED_MAX:
                self._undecrypted.append(Undecrypted(room, event, time.monotonic()))
            log.info("matrix: %s in %s waits for its room key", event.event_id, room.room_id)
            return
        read = self._inbound(room, event)
        if isinstance(read, Skipped):
            if read.reason:  # a message the bot will not handle: never in silence
                log.info("matrix: not taking %s from %s in %s: %s", event.event_id,
                         event.sender, room.room_id, read.reason)
            return
        per_sender[read.sender.external_id].append(read)

    def _retry_undecrypted(self, client: AsyncClient) -> list[tuple[MatrixRoom, Any]]:
        """Messages whose room key came in a later sync; dropped after a while, told in
        the log."""
        decrypted: list[tuple[MatrixRoom, Any]] = []
        waiting: list[Undecrypted] = []
        now = time.monotonic()
        for item in self._undecrypted:
            try:
                decrypted.append((item.room, client.decrypt_event(item.event)))
            except EncryptionError:
                if now - item.since < UNDECRYPTED_KEEP_SECONDS:
                    waiting.append(item)
                else:
                    log.warning("matrix: gave up on %s from %s: its room key never came",
                                item.event.event_id, item.event.sender)
        self._undecrypted = waiting
        return decrypted

    def _left_alone(self, room: MatrixRoom, events: list[Any]) -> bool:
        """Someone left in this sync and now nobody but the bot is in (or invited to) the
        room. Judged only on a leave: right after creating a room nio's view of its members
        is still partial."""
        someone_left = any(isinstance(e, RoomMemberEvent) and e.membership == "leave" and
                           e.state_key != self.config.user_id for e in events)
        alone = room.joined_count + room.invited_count <= 1
        return someone_left and alone and not self._is_configured(room)

    def _is_configured(self, room: MatrixRoom) -> bool:
        return room.room_id in self._configured or room.room_id in self.config.rooms or \
            bool(room.canonical_alias and room.canonical_alias in self.config.rooms)

    async def _deliver(self, items: list[Inbound]) -> int:
        """One sender's messages in order (senders go in parallel); the number not handled:
        after one fails, the rest wait for the sync that brings them again."""
        if self._sink is None:
            return 0
        for done, inbound in enumerate(items):
            if not (await self._sink(inbound)).confirmable:
                return len(items) - done
        return 0

    async def _on_invite(self, client: AsyncClient, room_id: str, state: list[Any]) -> None:
        """Direct rooms from people on the allowed homeservers, and the configured rooms
        (whoever invites); other invites are declined."""
        mine = next((e for e in state if isinstance(e, InviteMemberEvent) and
                     e.state_key == self.config.user_id), None)
        inviter = mine.sender if mine is not None else ""
        direct = bool(mine is not None and mine.content.get("is_direct"))
        allowed = homeserver_of(inviter) in self.allowed_homeservers
        configured = room_id in self.config.rooms or room_id in self._configured
        if not configured and not (direct and allowed):
            log.info("matrix: declined an invite to %s from %s (%s)", room_id, inviter,
                     "not a direct room or a configured one" if allowed
                     else "homeserver not in adapters.matrix.allowed_homeservers")
            await client.room_leave(room_id)
            return
        answer = await client.join(room_id)
        if isinstance(answer, JoinError):
            log.warning("matrix: could not join %s: %s", room_id, answer.message)
            return
        if configured:
            self._configured.add(room_id)
        elif inviter:
            self._direct_rooms[room_id] = inviter
            self._dm_rooms.setdefault(inviter, room_id)
            await self._save_rooms()

    @property
    def allowed_homeservers(self) -> set[str]:
        return set(self.config.allowed_homeservers) or {homeserver_of(self.config.user_id)}

    def _inbound(self, room: MatrixRoom, event: Any) -> Inbound | Skipped:
        view = RoomView(room.room_id, room.canonical_alias or "",
                        direct=room.room_id in self._direct_rooms,
                        configured=self._is_configured(room), members=room.member_count,
                        bridges=tuple(self._bridges.get(room.room_id, {}).values()),
                        partner=self._direct_rooms.get(room.room_id, ""))
        read = read_event(view, event, me=self.config.user_id,
                          conversation=self.config.conversation, threads=self._threads,
                          ignore_senders=self.config.ignore_senders)
        if isinstance(read, Inbound) and read.room.id == room.room_id and read.room.direct:
            self._talks_in(read.sender.external_id, room.room_id)
        return read

    def _talks_in(self, mxid: str, room_id: str) -> None:
        """They wrote from this direct room: later messages for them go there too (the
        files are written in the background; a crash loses at most this change)."""
        changed = self._direct_rooms.get(room_id) != mxid or self._dm_rooms.get(mxid) != room_id
        if changed:
            self._direct_rooms[room_id] = mxid
            self._dm_rooms[mxid] = room_id
            task = asyncio.create_task(self._save_rooms(), name="matrix-save-rooms")
            self._saving.add(task)
            task.add_done_callback(self._saving.discard)

    async def _save_rooms(self) -> None:
        """Both maps as they are now, one writer at a time (they share temporary files)."""
        async with self._rooms_lock:
            try:
                await self.files.save_direct_rooms(dict(self._direct_rooms))
                await self.files.save_dm_rooms(dict(self._dm_rooms))
            except OSError as exc:  # the map is rebuilt from the next message they send
                log.warning("matrix: could not save the direct rooms: %s", exc)

    # -- outbound ------------------------------------------------------------------------
    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        client = self.client
        if client is None or not self.ready.is_set():
            raise TransientSendError("not connected to the homeserver yet")
        try:
            room_id, content = await self._addressed(client, msg)
            # Counted only from here: opening a direct room waits for the sync loop.
            self._sending += 1
            self._sends_done.clear()
            try:
                answer = await client.room_send(room_id, "m.room.message", content,
                                                tx_id=idempotency_key,
                                                ignore_unverified_devices=True)
                if msg.file is not None and not isinstance(answer, RoomSendError):
                    # The text, then the file (its own transaction id: a retry after the
                    # text went out sends the text again, which the homeserver drops).
                    answer = await self._send_file(client, room_id, msg.file, content,
                                                   f"{idempotency_key}:file")
            finally:
                self._sending -= 1
                if not self._sending:
                    self._sends_done.set()
        except LocalProtocolError as exc:  # e.g. a room nio does not know (yet)
            raise TransientSendError(f"matrix: {exc}") from exc
        except NETWORK_ERRORS as exc:
            raise TransientSendError(f"matrix: {type(exc).__name__}: {exc}") from exc
        if not isinstance(answer, RoomSendError):
            room = client.rooms.get(room_id)
            if room is not None and room.encrypted:
                await self.keyshare.sent(client, room_id)
        if isinstance(answer, RoomSendError):
            if answer.status_code == "M_LIMIT_EXCEEDED":
                self.rate_limited += 1
                raise TransientSendError(str(answer), (answer.retry_after_ms or 1000) / 1000)
            if answer.status_code in ("M_FORBIDDEN", "M_NOT_FOUND"):
                raise PermanentSendError(str(answer))
            raise TransientSendError(str(answer))
        return Receipt(answer.event_id)

    async def _send_file(self, client: AsyncClient, room_id: str, file: FileRef,
                         content: dict[str, Any], tx_id: str) -> Any:
        """Upload `file` (encrypted where the room is) and send it as an m.file event."""
        room = client.rooms.get(room_id)
        encrypt = room is not None and room.encrypted
        uploaded, keys = await client.upload(
            lambda _limited, _timeouts: file.data, content_type=file.content_type,
            filename=file.name, encrypt=encrypt, filesize=len(file.data))
        if isinstance(uploaded, UploadError):
            if uploaded.status_code == "M_TOO_LARGE":
                raise PermanentSendError(f"matrix: {file.name} is too large: {uploaded}")
            raise TransientSendError(f"matrix: could not upload {file.name}: {uploaded}")
        return await client.room_send(
            room_id, "m.room.message",
            file_content(file, uploaded.content_uri, keys, content.get("m.relates_to")),
            tx_id=tx_id, ignore_unverified_devices=True)

    async def _addressed(self, client: AsyncClient,
                         msg: Outbound) -> tuple[str, dict[str, Any]]:
        content = render_content(msg)
        to = msg.to
        if isinstance(to, Identity):
            return await self._dm_room(client, to.external_id), content
        if to.id.startswith(DM_ROOM):
            return await self._dm_room(client, to.id.removeprefix(DM_ROOM)), content
        room_id, thread, root = to.id.partition(THREAD)
        if not thread:
            return room_id, content
        if root not in self._threads:
            self._threads[root] = None
            while len(self._threads) > THREADS_MAX:  # the oldest threads are let go
                del self._threads[next(iter(self._threads))]
            await self.files.save_threads(list(self._threads))
        return room_id, in_thread(content, root)

    async def _dm_room(self, client: AsyncClient, mxid: str) -> str:
        async with self._dm_lock:
            room_id = self._dm_rooms.get(mxid)
            room = client.rooms.get(room_id) if room_id is not None else None
            if room_id is not None and room is not None and room.member_count <= 2:
                return room_id  # (a room someone else joined is private no more)
            initial = [{"type": "m.room.encryption", "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] \
                if self.config.encrypt_direct_rooms else []
            answer = await client.room_create(is_direct=True, invite=[mxid],
                                              preset=RoomPreset.trusted_private_chat,
                                              initial_state=initial)
            if isinstance(answer, RoomCreateError):
                raise TransientSendError(f"could not open a direct room with {mxid}: "
                                         f"{answer.message}")
            room_id = str(answer.room_id)
            self._dm_rooms[mxid] = room_id
            self._direct_rooms[room_id] = mxid
            await self._save_rooms()
        await self._until_synced(client, room_id, mxid)
        return room_id

    async def _until_synced(self, client: AsyncClient, room_id: str, mxid: str) -> None:
        """Wait for the sync loop to bring a new room in, with its encryption state and
        the invitee: nio sends only to rooms it knows, and shares keys with the members it
        knows."""
        def known() -> bool:
            room = client.rooms.get(room_id)
            return room is not None and mxid in room.users and \
                room.encrypted == self.config.encrypt_direct_rooms

        try:
            async with asyncio.timeout(ROOM_WAIT_SECONDS), self._synced:
                await self._synced.wait_for(known)
        except TimeoutError as exc:
            raise TransientSendError(f"the new direct room {room_id} did not come through "
                                     "sync in time") from exc
