"""The Matrix test server itself: a real Synapse from its own venv, driven by matrix-nio.

The Matrix adapter (issue 4) builds on this fixture; this checks that the server the adapter
tests will use starts, registers people and relays a message between two nio clients.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from nio import AsyncClient, LoginResponse, RoomCreateResponse, RoomMessageText

from tests.synapse import Synapse


async def test_synapse_relays_a_message_between_two_registered_people(
        synapse: Synapse, tmp_path: Path) -> None:
    ana_id = await synapse.register("ana", "ana-password")
    ben_id = await synapse.register("ben", "ben-password")
    assert (ana_id, ben_id) == ("@ana:localhost", "@ben:localhost")
    ana = AsyncClient(synapse.url, ana_id, store_path=str(tmp_path))
    ben = AsyncClient(synapse.url, ben_id, store_path=str(tmp_path))
    try:
        assert isinstance(await ana.login("ana-password"), LoginResponse)
        assert isinstance(await ben.login("ben-password"), LoginResponse)
        room = await ana.room_create(invite=[ben_id])
        assert isinstance(room, RoomCreateResponse)
        await ben.sync(timeout=0)
        await ben.join(room.room_id)
        await ben.sync(timeout=0)
        await ana.sync(timeout=0)  # nio sends only to rooms it has synced
        await ana.room_send(room.room_id, "m.room.message",
                            {"msgtype": "m.text", "body": "hello from ana"})
        seen: list[str] = []
        async with asyncio.timeout(10):
            while not seen:
                answer = await ben.sync(timeout=1000)
                for event in answer.rooms.join[room.room_id].timeline.events \
                        if room.room_id in answer.rooms.join else []:
                    if isinstance(event, RoomMessageText):
                        seen.append(event.body)
        assert seen == ["hello from ana"]
    finally:
        await ana.close()
        await ben.close()
