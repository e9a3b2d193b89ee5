"""The Matrix adapter against a real Synapse (WIP for issue 4: unencrypted path first)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    InviteMemberEvent,
    RoomMemberEvent,
    RoomMessageNotice,
    SyncResponse,
)

from adapters.matrix import MatrixAdapter
from bot.app import App
from bot.config import MatrixConfig
from tests.harness import FakeClock, make_config
from tests.synapse import Synapse, start_synapse

BOT_PASSWORD = "bot-password"


@pytest.fixture
async def synapse() -> AsyncIterator[Synapse]:
    server = await start_synapse()
    yield server
    await server.remove()


class Person:
    """Someone on Matrix, played by a plain matrix-nio client."""

    def __init__(self, synapse: Synapse, mxid: str, store: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(synapse.url, mxid, store_path=str(store))
        self.notices: asyncio.Queue[tuple[str, RoomMessageNotice]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._members: set[tuple[str, str]] = set()
        self._member_joined = asyncio.Event()

    async def login(self, password: str) -> None:
        await self.client.login(password)
        await self.client.sync(timeout=0)
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        """Sync on; join every room we are invited to; queue every notice from others."""
        while True:
            answer = await self.client.sync(timeout=1000)
            if not isinstance(answer, SyncResponse):
                await asyncio.sleep(0.2)
                continue
            for room_id, info in answer.rooms.invite.items():
                if any(isinstance(e, InviteMemberEvent) for e in info.invite_state):
                    await self.client.join(room_id)
            for room_id, joined in answer.rooms.join.items():
                for event in joined.timeline.events:
                    if isinstance(event, RoomMemberEvent) and event.membership == "join":
                        self._members.add((room_id, event.state_key))
                        self._member_joined.set()
                    if isinstance(event, RoomMessageNotice) and \
                            event.sender != self.client.user_id:
                        await self.notices.put((room_id, event))

    async def joined(self, room_id: str, mxid: str, within: float = 10) -> None:
        async with asyncio.timeout(within):
            while (room_id, mxid) not in self._members:
                self._member_joined.clear()
                await self._member_joined.wait()

    async def notice(self, within: float = 15) -> tuple[str, RoomMessageNotice]:
        return await asyncio.wait_for(self.notices.get(), within)

    async def say(self, room_id: str, text: str) -> None:
        await self.client.room_send(room_id, "m.room.message",
                                    {"msgtype": "m.text", "body": text},
                                    ignore_unverified_devices=True)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()


async def test_start_in_a_room_continues_in_a_direct_room(synapse: Synapse, sqlite_url: str,
                                                          tmp_path: Path) -> None:
    bot_id = await synapse.register("wayfinder", BOT_PASSWORD)
    ana_id = await synapse.register("ana", "ana-password")
    ana = Person(synapse, ana_id, tmp_path / "ana")
    await ana.login("ana-password")
    config = MatrixConfig.model_validate({
        "enabled": True, "homeserver": synapse.url, "user_id": bot_id,
        "store_path": str(tmp_path / "bot-store"), "encrypt_direct_rooms": False,
        "sync_timeout_seconds": 1.0})
    adapter = MatrixAdapter(config, BOT_PASSWORD, pickle_key="test-pickle-key")
    app = App(make_config(sqlite_url), [adapter], clock=FakeClock())
    await app.start(tick=False)
    serving = asyncio.create_task(app.serve())
    try:
        await asyncio.wait_for(adapter.ready.wait(), 20)
        room = await ana.client.room_create(invite=[bot_id], name="project room")
        await ana.client.sync(timeout=0)
        await ana.joined(room.room_id, bot_id)  # the bot accepted the invite
        await ana.say(room.room_id, "!start")
        dm_room, first = await ana.notice()
        assert dm_room != room.room_id  # the answer comes in a direct room
        assert "Hi, I'm Wayfinder" in first.body
        assert first.source["content"]["m.mentions"] == {}  # nobody is pinged
        _room, question = await ana.notice()
        assert "What are you interested in?" in question.body
        assert "<ol><li>!1 " in question.source["content"]["formatted_body"]
        await ana.say(dm_room, "automation, 5")
        _room, second = await ana.notice()
        assert "What are you good at" in second.body
    finally:
        app.stop()
        await serving
        await app.close()
        await ana.close()
