"""The outgoing line queue of one IRC connection, shared by every target.

Protocol lines the connection needs (JOIN, WHO, NICK) go first. Message lines alternate
between channels and private chats, and within each, round robin over targets, so one long
answer in a busy channel cannot hold back every private conversation (or the reverse). A
message's lines stay in order; a message is done when its last line is written, and a line
that could not be written (the link dropped) stays queued for the next connection.
A job that reports its lines (one outbox row of several lines) holds after each line but the
last until its sender has kept the count, so a restart resends only the lines after it; the
other targets go on meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass
class Job:
    target: str
    lines: list[str]
    done: asyncio.Future[None]
    written: int = 0
    # Set after each line written; the job then holds (`held`) until `LineQueue.resume`.
    progress: asyncio.Event | None = None
    held: bool = False
    # The services account the lines are meant for: written only while the target nick is
    # still logged in to it (the writer checks before each line).
    account: str | None = None


def is_channel(target: str) -> bool:
    return target[:1] in ("#", "&", "+", "!")


@dataclass
class LineQueue:
    _control: deque[str] = field(default_factory=deque)
    # per class (channel, private): target -> that target's jobs in order
    _classes: tuple[OrderedDict[str, deque[Job]], OrderedDict[str, deque[Job]]] = field(
        default_factory=lambda: (OrderedDict(), OrderedDict()))
    _turn: int = 0
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    has_control: asyncio.Event = field(default_factory=asyncio.Event)
    # Counts `clear_control` calls: a protocol line peeked before one is not to be written.
    control_generation: int = 0

    def control(self, line: str) -> None:
        self._control.append(line)
        self._ready.set()
        self.has_control.set()

    def clear_control(self) -> None:
        """A new connection renegotiates everything; old protocol lines mean nothing there."""
        self._control.clear()
        self.has_control.clear()
        self.control_generation += 1

    def add(self, job: Job) -> None:
        targets = self._classes[0 if is_channel(job.target) else 1]
        targets.setdefault(job.target, deque()).append(job)
        self._ready.set()

    def cancel(self, job: Job) -> None:
        targets = self._classes[0 if is_channel(job.target) else 1]
        jobs = targets.get(job.target)
        if jobs is not None and job in jobs:
            jobs.remove(job)
            if not jobs:
                del targets[job.target]

    def holds(self, job: Job) -> bool:
        """The job is still queued (not cancelled)."""
        return job in self._classes[0 if is_channel(job.target) else 1].get(job.target, ())

    def __len__(self) -> int:
        return len(self._control) + sum(len(j) for c in self._classes for j in c.values())

    def resume(self, job: Job) -> None:
        """The held job's count is kept: its next line may go."""
        job.held = False
        self._ready.set()

    def _next(self) -> tuple[str, Job | None] | None:
        if self._control:
            return self._control[0], None
        for offset in range(2):
            for jobs in self._classes[(self._turn + offset) % 2].values():
                if not jobs[0].held:
                    return jobs[0].lines[jobs[0].written], jobs[0]
        return None

    async def wait(self) -> None:
        """Until a line may be written (not every queued job holds)."""
        while self._next() is None:
            self._ready.clear()
            await self._ready.wait()

    def peek(self) -> tuple[str, Job | None]:
        """The next line to write, and the job it belongs to (None: a protocol line)."""
        found = self._next()
        if found is None:
            raise LookupError("the queue is empty")
        return found

    def written(self, job: Job | None) -> None:
        """The line `peek` gave was written: move on, and let the other class go next."""
        if job is None:
            self._control.popleft()
            if not self._control:
                self.has_control.clear()
            return
        job.written += 1
        klass = 0 if is_channel(job.target) else 1
        targets = self._classes[klass]
        jobs = targets[job.target]
        if job.written == len(job.lines):
            jobs.popleft()
            if not job.done.done():
                job.done.set_result(None)
        elif job.progress is not None:
            job.held = True
        if job.progress is not None:
            job.progress.set()
        targets.move_to_end(job.target)  # round robin within the class
        if not jobs:
            del targets[job.target]
        self._turn = 1 - klass
