"""Content changes without a restart: reload the content folder when its files change, on
SIGHUP and on `wayfinder content reload`, validated first and swapped atomically.

- **Validated first.** A folder with problems is not loaded: the running content stays, and
  the problems (file, key, reason) go to the log and, once per distinct edit, to the organizers.
- **Atomic.** The swap replaces one reference (the engine's Content and the Directory built on
  it); a turn reads that reference once when it starts, so a message is handled entirely
  against one version of the content.
- **How `wayfinder content reload` reaches the bot.** The command writes an audit row
  ("content_reload") to the database, and every running process polls the newest such row
  together with the files' modification times. A signal to a pid file would reach only the
  processes on the command's own host, needs a pid file per process and says nothing about
  who asked; the row reaches every process on one PostgreSQL (and the one on a SQLite file),
  survives a process that is starting at that moment, and is the audit trail of the request.
  The cost is one small query per poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.content import Content, ContentError, ContentProblem

log = logging.getLogger(__name__)

RELOAD_ACTION = "content_reload"  # the audit action `wayfinder content reload` writes
Fingerprint = tuple[tuple[str, int, int], ...]
Swap = Callable[[Content], None]
Tell = Callable[[str, str], Awaitable[None]]  # (text, key that makes the message unique)
Requests = Callable[[], Awaitable[int]]  # the newest reload request's id, 0 for none


def fingerprint(root: Path) -> Fingerprint:
    """Name, modification time and size of every content file: any edit, new file or
    deletion changes it."""
    found = []
    for path in root.rglob("*.toml"):
        try:
            stat = path.stat()
        except OSError:  # removed while we looked: it is not there
            continue
        found.append((str(path.relative_to(root)), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(found))


def rejection_text(root: Path, problems: list[ContentProblem]) -> str:
    lines = [f"The content in {root} was not reloaded: {len(problems)} problem(s). The bot "
             "keeps running on the previous content until they are fixed."]
    lines += [f"  {p.file}: {p.key or '(file)'}: {p.reason}" for p in problems]
    lines.append("`wayfinder content check` lists them too.")
    return "\n".join(lines)


class ContentReloader:
    """Loads the content folder again when it changed or was asked to; swaps it in if valid."""

    def __init__(self, root: Path, swap: Swap, tell_organizers: Tell,
                 load: Callable[[Path], Content], requests: Requests | None = None,
                 describe: Callable[[Content], str] = lambda _content: "") -> None:
        self.root = root
        self.swap = swap
        self.tell_organizers = tell_organizers
        self.requests = requests
        self.load = load
        self.describe = describe
        self.version = 0  # successful reloads
        self._seen: Fingerprint | None = None
        self._request = 0
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[bool]] = set()

    async def start(self) -> None:
        """Remember what is loaded now: only later changes and requests reload."""
        self._seen = await asyncio.to_thread(fingerprint, self.root)
        if self.requests is not None:
            self._request = await self.requests()

    async def check(self) -> bool:
        """One poll: reload if a file changed or a reload was requested since the last one.
        Returns whether new content was swapped in."""
        current = await asyncio.to_thread(fingerprint, self.root)
        requested = await self.requests() if self.requests is not None else 0
        if current == self._seen and requested <= self._request:
            return False
        self._request = max(self._request, requested)
        why = "a reload was requested" if current == self._seen else "content files changed"
        return await self.reload(why)

    async def reload(self, why: str) -> bool:
        """Validate the folder, then swap it in; a folder with problems changes nothing."""
        async with self._lock:
            seen = await asyncio.to_thread(fingerprint, self.root)
            try:
                content = await asyncio.to_thread(self.load, self.root)
            except ContentError as exc:
                self._seen = seen  # report this edit once; the next edit is looked at again
                await self._reject(seen, exc.problems)
                return False
            self._seen = seen
            self.swap(content)
            self.version += 1
            log.info("content reloaded from %s (%s): %s", self.root, why,
                     self.describe(content))
            return True

    def request(self) -> None:
        """SIGHUP: reload now (from a signal handler, so in a task of its own)."""
        task = asyncio.get_running_loop().create_task(self._reload_logged("SIGHUP"))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reload_logged(self, why: str) -> bool:
        """A reload no one awaits: a failure (an unreadable folder) is logged as run() logs
        a failed poll, and the running content stays."""
        try:
            return await self.reload(why)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not reload the content in %s (%s); keeping the running "
                          "content", self.root, why)
            return False

    async def stop(self) -> None:
        """Cancel the SIGHUP reloads still running and wait for them (the app's close)."""
        pending = list(self._pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def run(self, interval: float) -> None:
        """Poll every `interval` seconds until cancelled; a failed poll is logged, not fatal."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not check the content in %s for changes", self.root)

    async def _reject(self, seen: Fingerprint, problems: list[ContentProblem]) -> None:
        text = rejection_text(self.root, problems)
        log.error("%s", text)
        key = hashlib.sha256(repr((seen, text)).encode()).hexdigest()[:24]
        try:
            await self.tell_organizers(text, key)
        except Exception:
            log.exception("could not queue the content problems for the organizers")
