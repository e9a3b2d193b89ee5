"""The console adapter: one person at the terminal (or a script on a pipe) talks to the bot."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from adapters.console.render import render
from adapters.console.translate import CONSOLE, inbound_from_line
from bot.model import (
    Capabilities,
    FileRef,
    Network,
    Outbound,
    Receipt,
)
from bot.ports import InboundSink, PermanentSendError


def _reader(stream: TextIO, loop: asyncio.AbstractEventLoop,
            queue: asyncio.Queue[str | None]) -> None:
    # A daemon thread, so a blocked read never keeps the process alive at exit.
    try:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
    finally:
        loop.call_soon_threadsafe(queue.put_nowait, None)


def save_file(folder: Path, file: FileRef) -> Path:
    """Write a file sent to the terminal into `folder`, readable by its owner only (it may
    hold personal data); its name made safe (no folders, no hidden files)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file.name).name).lstrip(".") or "file"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(file.data)
    return path


@dataclass
class ConsoleAdapter:
    """Identities are `console:NAME`, verified: the person at the terminal runs the bot."""

    name: str
    room: str = ""
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    network: Network = CONSOLE
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(limit_floods=False, files=True))
    files_dir: Path = Path("wayfinder-files")  # where a file sent to the terminal is saved

    async def run(self, sink: InboundSink) -> None:
        """Read lines until end of input, handing each to the bot in order."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        if isinstance(self.stdin, io.TextIOWrapper):
            # Bytes that are not text (a pasted binary, a wrong locale) become U+FFFD instead
            # of ending the reader, and the chat, with a UnicodeDecodeError.
            self.stdin.reconfigure(errors="replace")
        threading.Thread(target=_reader, args=(self.stdin, loop, queue), daemon=True,
                         name="console-stdin").start()
        session = uuid.uuid4().hex[:12]
        if self.stdin.isatty():
            self._print(f"Wayfinder is listening as console:{self.name}. Type !start to begin, "
                        "!help for commands, Ctrl-D to quit.")
        count = 0
        while (line := await queue.get()) is not None:
            count += 1
            await sink(inbound_from_line(line, count, session=session, name=self.name,
                                         room=self.room))

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        text = render(msg)
        if msg.file is not None:
            try:
                path = await asyncio.to_thread(save_file, self.files_dir, msg.file)
            except OSError as exc:
                raise PermanentSendError(f"could not save {msg.file.name}: {exc}") from None
            text = f"{text.rstrip()}\n(saved as {path})\n\n"
        try:
            self._write(text)
        except BrokenPipeError:  # the reader went away (`| head`): retrying cannot help
            raise PermanentSendError("the terminal's output is closed") from None
        return Receipt(idempotency_key)

    def _print(self, text: str) -> None:
        self._write(text + "\n\n")

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
