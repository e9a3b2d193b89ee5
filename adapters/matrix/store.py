"""The Matrix adapter's own files beside nio's crypto store: the sync token, each person's
direct room (where messages for them go), every direct room the bot is in, and threads.
Written atomically (temporary file, fsync, rename) off the event loop."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

SYNC_TOKEN_FILE = "sync-token"
DM_ROOMS_FILE = "dm-rooms.json"
DIRECT_ROOMS_FILE = "direct-rooms.json"  # every direct room: room id -> the person in it
THREADS_FILE = "threads.json"
THREADS_KEPT = 10_000  # the newest threads the bot talks in; older ones need a command again


class MatrixFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def prepare(self) -> None:
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)

    async def sync_token(self) -> str | None:
        return await asyncio.to_thread(self._read, SYNC_TOKEN_FILE)

    async def save_sync_token(self, token: str) -> None:
        await asyncio.to_thread(self._write, SYNC_TOKEN_FILE, token)

    async def dm_rooms(self) -> dict[str, str]:
        text = await asyncio.to_thread(self._read, DM_ROOMS_FILE)
        if not text:
            return {}
        loaded = json.loads(text)
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    async def save_dm_rooms(self, rooms: dict[str, str]) -> None:
        await asyncio.to_thread(self._write, DM_ROOMS_FILE, json.dumps(rooms, sort_keys=True))

    async def direct_rooms(self) -> dict[str, str]:
        text = await asyncio.to_thread(self._read, DIRECT_ROOMS_FILE)
        loaded = json.loads(text) if text else {}
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

    async def save_direct_rooms(self, rooms: dict[str, str]) -> None:
        await asyncio.to_thread(self._write, DIRECT_ROOMS_FILE, json.dumps(rooms, sort_keys=True))

    async def threads(self) -> list[str]:
        text = await asyncio.to_thread(self._read, THREADS_FILE)
        loaded = json.loads(text) if text else []
        return [str(t) for t in loaded] if isinstance(loaded, list) else []

    async def save_threads(self, roots: list[str]) -> None:
        await asyncio.to_thread(self._write, THREADS_FILE, json.dumps(roots[-THREADS_KEPT:]))

    def _read(self, name: str) -> str | None:
        path = self.folder / name
        return (path.read_text().strip() or None) if path.exists() else None

    def _write(self, name: str, text: str) -> None:
        temporary = self.folder / f".{name}.tmp"
        with open(temporary, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / name)
