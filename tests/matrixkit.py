"""People on the test Synapse, and the bot beside them, for the Matrix tests and benchmark.

A Person is a plain matrix-nio client with encryption: it follows its sync, joins every room
it is invited to, keeps its keys up to date and queues every notice others send it
(decrypted), so a test reads replies in the order they arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    InviteMemberEvent,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptedFile,
    RoomMemberEvent,
    RoomMessageFile,
    RoomMessageNotice,
    RoomSendResponse,
    SyncResponse,
)
from nio.crypto.attachments import decrypt_attachment

from adapters.matrix.client import MatrixAdapter, maintain_keys
from adapters.matrix.config import MatrixConfig
from bot.app import App
from tests.harness import make_config
from tests.synapse import Synapse

BOT_PASSWORD = "bot-password"
PICKLE_KEY = "test-pickle-key-0123456789"
ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


class Person:
    """Someone on Matrix, played by a matrix-nio client with end-to-end encryption."""

    def __init__(self, synapse: Synapse, mxid: str, store: Path, device: str = "") -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            synapse.url, mxid, device_id=device or None, store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False,
                                     max_timeouts=0))
        self.notices: asyncio.Queue[tuple[str, RoomMessageNotice]] = asyncio.Queue()
        self.undecrypted: list[MegolmEvent] = []
        self.files: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()  # m.file events
        self._task: asyncio.Task[None] | None = None
        self._members: set[tuple[str, str]] = set()
        self._synced = asyncio.Condition()

    @property
    def mxid(self) -> str:
        return str(self.client.user_id)

    async def login(self, password: str) -> None:
        await self.client.login(password)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self._sync_once(0)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            try:
                await self._sync_once(1000)
            except (aiohttp.ClientError, OSError, TimeoutError):  # the homeserver is down
                await asyncio.sleep(0.2)

    async def _sync_once(self, timeout_ms: int) -> None:
        answer = await self.client.sync(timeout=timeout_ms)
        if not isinstance(answer, SyncResponse):
            await asyncio.sleep(0.2)
            return
        for room_id, info in answer.rooms.invite.items():
            if any(isinstance(e, InviteMemberEvent) for e in info.invite_state):
                await self.client.join(room_id)
        for room_id, joined in answer.rooms.join.items():
            for event in joined.timeline.events:
                if isinstance(event, RoomMemberEvent) and event.membership == "join":
                    self._members.add((room_id, event.state_key))
                if event.sender == self.client.user_id:
                    continue
                if isinstance(event, RoomMessageNotice):
                    await self.notices.put((room_id, event))
                elif isinstance(event, RoomMessageFile | RoomEncryptedFile):
                    await self.files.put((room_id, event))
                elif isinstance(event, MegolmEvent):
                    self.undecrypted.append(event)
        await maintain_keys(self.client)
        async with self._synced:
            self._synced.notify_all()

    async def joined(self, room_id: str, mxid: str, within: float = 15) -> None:
        async with asyncio.timeout(within), self._synced:
            await self._synced.wait_for(lambda: (room_id, mxid) in self._members)

    async def notice(self, within: float = 15) -> tuple[str, RoomMessageNotice]:
        try:
            return await asyncio.wait_for(self.notices.get(), within)
        except TimeoutError:
            raise AssertionError(
                f"{self.mxid} got no notice within {within} s; undecryptable: "
                f"{[e.event_id for e in self.undecrypted]}") from None

    async def notice_containing(self, text: str, within: float = 15) -> tuple[str, Any]:
        """The next notice whose body contains `text`, skipping others."""
        async with asyncio.timeout(within):
            while True:
                room, event = await self.notice(within)
                if text in event.body:
                    return room, event

    async def file(self, within: float = 15) -> tuple[Any, bytes]:
        """The next file sent to them, and its bytes (downloaded, decrypted if it was)."""
        try:
            _room, event = await asyncio.wait_for(self.files.get(), within)
        except TimeoutError:
            raise AssertionError(f"{self.mxid} got no file within {within} s") from None
        answer = await self.client.download(event.url)
        assert isinstance(answer, DownloadResponse), answer
        data = answer.body
        if isinstance(event, RoomEncryptedFile):
            data = decrypt_attachment(data, event.key["k"], event.hashes["sha256"], event.iv)
        return event, data

    async def say(self, room_id: str, text: str, **content: Any) -> str:
        answer = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text, **content},
            ignore_unverified_devices=True)
        assert isinstance(answer, RoomSendResponse), answer
        return str(answer.event_id)

    async def create_room(self, invite: list[str], encrypted: bool = False,
                          name: str = "project room") -> str:
        answer = await self.client.room_create(
            invite=invite, name=name, initial_state=[ENCRYPTION] if encrypted else [])
        assert isinstance(answer, RoomCreateResponse), answer
        async with asyncio.timeout(10), self._synced:
            await self._synced.wait_for(lambda: answer.room_id in self.client.rooms)
        return str(answer.room_id)

    async def open_direct(self, partner: str, encrypted: bool = False,
                          within: float = 15) -> str:
        """A direct room with `partner`, once the partner has joined it."""
        answer = await self.client.room_create(
            invite=[partner], is_direct=True, initial_state=[ENCRYPTION] if encrypted else [])
        assert isinstance(answer, RoomCreateResponse), f"{self.mxid}: {answer}"
        await self.joined(answer.room_id, partner, within)
        return str(answer.room_id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()


async def person(synapse: Synapse, name: str, base: Path, device: str = "") -> Person:
    mxid = f"@{name}:localhost"
    password = f"{name}-password"
    if device == "":
        mxid = await synapse.register(name, password)
    someone = Person(synapse, mxid, base / f"{name}-{device or 'first'}", device)
    await someone.login(password)
    return someone


def matrix_config(synapse: Synapse, bot_id: str, store: Path,
                  **overrides: Any) -> MatrixConfig:
    return MatrixConfig.model_validate({
        "enabled": True, "homeserver": synapse.url, "user_id": bot_id,
        "store_path": str(store), "sync_timeout_seconds": 1.0, "password_env": "MX_PW",
        "pickle_key_env": "MX_PICKLE", **overrides})


@dataclass
class RunningBot:
    app: App
    adapter: MatrixAdapter
    serving: asyncio.Task[None] = field(repr=False)


@contextlib.asynccontextmanager
async def running_bot(config: MatrixConfig, db_url: str, access_token: str | None = None,
                      cross_signing: tuple[str, str] | None = None,
                      **sections: Mapping[str, object]) -> AsyncIterator[RunningBot]:
    """The bot on this Matrix config, logged in with BOT_PASSWORD or the access token;
    `sections` of the bot's own config (e.g. roles)."""
    adapter = MatrixAdapter(config, access_token or BOT_PASSWORD, pickle_key=PICKLE_KEY,
                            secret_is_token=access_token is not None,
                            cross_signing=cross_signing)
    app = App(make_config(db_url, **sections), [adapter])
    await app.start(tick=False)
    serving = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(adapter.ready.wait(), 30)
        yield RunningBot(app, adapter, serving)
    finally:
        app.stop()
        await serving
        await app.close()
