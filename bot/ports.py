"""The core's ports: what adapters and storage implement, as small typed interfaces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from bot.model import Capabilities, Identity, Inbound, Network, Outbound, PersonId, Receipt
from bot.records import Record


class Outcome(Enum):
    """What became of one inbound event. An adapter confirms it to its network (an update
    offset, a webhook's answer, a sync token) unless it failed: a failed event was not
    committed and must be fetched again."""

    COMMITTED = "committed"  # handled; its unit of work (and replies) committed
    DUPLICATE = "duplicate"  # seen before: nothing written again
    IGNORED = "ignored"  # not for the bot (chatter in a shared room)
    FAILED = "failed"  # not committed (the store failed): do not confirm it

    @property
    def confirmable(self) -> bool:
        return self is not Outcome.FAILED


InboundSink = Callable[[Inbound], Awaitable[Outcome]]


# Called by an adapter after each part of a split message but the last, with how many parts
# are delivered so far: the dispatcher keeps the count, so a retry sends only the rest.
PartSent = Callable[[int], Awaitable[None]]


class SendError(Exception):
    """An adapter could not deliver a message."""


class TransientSendError(SendError):
    """Worth retrying later: a timeout, a 5xx, a rate limit."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help: the room is gone, the bot was blocked."""


class UnknownDeliveryError(SendError):
    """The send timed out after it may have been delivered: retrying could say it twice, so
    the row is marked unknown for organizers to look at."""


class AdapterFatalError(Exception):
    """An adapter cannot run with this configuration (a refused login): retrying would not
    help, and running without it would be wrong. Its message says what to fix."""


class StoreBrokenError(Exception):
    """The store cannot be opened or written (a corrupt, read-only or full file): nothing the
    bot does could be committed, so it stops. The message names the file and the problem."""


class Adapter(Protocol):
    network: Network
    capabilities: Capabilities

    async def run(self, sink: InboundSink) -> None:
        """Connect, receive and reconnect until cancelled (or, for finite inputs, until done)."""

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        """Deliver one message; raise TransientSendError or PermanentSendError on failure."""


@runtime_checkable
class SendsInParts(Protocol):
    """An adapter that may split one message into several network messages (at 4096
    characters, say). It skips the first `done` parts, which an earlier try delivered, and
    calls `part_sent` after each part but the last, so a retry after a failure or a crash
    never repeats a part the network already has."""

    async def send_parts(self, msg: Outbound, idempotency_key: str, done: int,
                         part_sent: PartSent) -> Receipt: ...


async def send_every_part(adapter: SendsInParts, msg: Outbound,
                          idempotency_key: str) -> Receipt:
    """A plain send for a SendsInParts adapter: every part, with no progress to record."""

    async def unrecorded(count: int) -> None:
        return None

    return await adapter.send_parts(msg, idempotency_key, 0, unrecorded)


@dataclass
class PersonState:
    """Where one person is: the flow, the step, and the flow data (JSON)."""

    person_id: PersonId
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    encoded: str = field(default="", compare=False)  # `data` as JSON, when already known
    # Each feature's projection of this state as last committed (Feature.project), by feature
    # name; empty when loaded from the store (the next commit writes them once).
    projected: Mapping[str, Record] = field(default_factory=dict, compare=False)
    # The committed version this state was read at (0: none committed yet). With several
    # processes a commit expects it unchanged (UnitOfWork.expect), else ConflictError.
    version: int = field(default=0, compare=False)
    # The JSON of each value of `data` by key, as `encoded` was made of them (empty when
    # loaded from the store): the next commit encodes only what it changed (compact_json_parts).
    fragments: Mapping[str, str] = field(default_factory=dict, compare=False)
    # The sender, and the version of the roles (Directory.version), that the projections
    # made of them (ProjectInputs.sender) were last made with: None while not made.
    projected_by: tuple[Identity, int] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OutboxItem:
    idempotency_key: str
    network: Network
    body: dict[str, Any]
    message: Outbound | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    idempotency_key: str
    network: Network
    body: dict[str, Any]
    attempts: int
    message: Outbound | None = field(default=None, compare=False)  # body, decoded, if at hand
    last_error: str = ""
    status: str = "pending"  # "sending": a process handed it to an adapter, then stopped
    parts_sent: int = 0  # parts of a split message already delivered (SendsInParts)


@dataclass(frozen=True)
class DueFailure:
    """Due work that failed `attempts` times; `dead`: it used them all and is never run again."""

    key: str
    attempts: int
    last_error: str
    last_failed_at: datetime
    dead: bool


@dataclass
class UnitOfWork:
    """Everything one handled message changes, committed as one transaction."""

    person_id: PersonId
    inbox: tuple[Network, str] | None = None
    state: PersonState | None = None
    outbox: list[OutboxItem] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    # The state versions the turn read, by person: where checked (PostgreSQL), a person's
    # state committed since is a ConflictError and the handler runs again.
    expect: Mapping[PersonId, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitResult:
    """`duplicate` means the inbound event was seen before and nothing was written."""

    duplicate: bool
    outbox: tuple[OutboxRow, ...] = ()


class ConflictError(Exception):
    """A unit of work broke a uniqueness rule (a task claimed twice), or a state it read was
    committed since by another process; nothing of it was written."""

    def __init__(self, message: str = "", shared: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.shared = shared  # another process committed the person's state meanwhile
        self.gone = gone  # ...and the person is no more (merged or erased there)


class Reads(Protocol):
    """What flows may read. Writes only happen through a UnitOfWork."""

    async def events_since(self, person_id: PersonId, kind: str, since: datetime) -> int: ...

    async def identities(self, person_id: PersonId) -> list[Identity]: ...

    async def load_state(self, person_id: PersonId) -> PersonState | None: ...


_CONFORMS: dict[tuple[type, type], bool] = {}


def conforms(reads: object, protocol: type) -> bool:
    """isinstance(reads, protocol) for a runtime-checkable Protocol, known once per class: the
    check looks up every method of the Protocol, and a feature narrows its reads every turn."""
    key = (type(reads), protocol)
    known = _CONFORMS.get(key)
    if known is None:
        known = _CONFORMS[key] = isinstance(reads, protocol)
    return known


class Store(Reads, Protocol):
    """The durable store: reads for flows, plus the core's own needs."""

    async def person_for(self, identity: Identity) -> PersonId: ...

    async def person_for_event(self, identity: Identity,
                               event: tuple[Network, str] | None) -> PersonId | None:
        """person_for, except that an unknown identity whose `event` the inbox holds already
        (a replay, after the person was erased) is not created: None."""

    async def commit(self, unit: UnitOfWork) -> CommitResult: ...

    async def pending_outbox(self) -> list[OutboxRow]: ...

    async def mark_sent(self, outbox_ids: list[int]) -> None: ...

    async def mark_retry(self, outbox_id: int, error: str) -> None: ...

    async def mark_dead(self, outbox_id: int, error: str) -> None: ...

    async def mark_unknown(self, outbox_id: int, error: str) -> None: ...

    async def mark_parts(self, outbox_id: int, parts_sent: int) -> None:
        """The first `parts_sent` parts of a split message are delivered."""

    async def dead_letters(self) -> list[OutboxRow]: ...

    async def pending_page(self, after: int, limit: int, networks: Sequence[str],
                           replies_upto: int) -> list[OutboxRow]:
        """Rows to send (pending, or "sending" when a process stopped), oldest first: every
        bulk row, and other rows up to id `replies_upto`. With leases (lease_seconds > 0,
        several processes), instead every row no live process holds, leased to this one."""

    @property
    def lease_seconds(self) -> float:
        """How long a leased outbox row stays this process's unrenewed (0: no leases)."""

    def exclusive(self, person_id: PersonId) -> AbstractAsyncContextManager[None]:
        """Held while handling a person one process at a time (after a version conflict
        showed another process at it too); where one process owns the store, nothing."""

    async def renew_leases(self) -> None:
        """Keep the rows this process leased its own a while longer."""

    async def release_leases(self) -> None:
        """At a clean stop: the rows this process leased but did not send are free."""

    async def max_outbox_id(self) -> int: ...

    async def outbox_present(self, ids: Sequence[int]) -> set[int]:
        """Which of these outbox rows still exist (one erased meanwhile must not be sent)."""

    async def mark_sending(self, rows: Sequence[OutboxRow]) -> None:
        """About to go to an adapter: a restart then knows a duplicate is possible (and
        counts one more resend for rows that were "sending" already)."""

    async def defer(self, outbox_id: int, until: datetime) -> None: ...

    async def release_deferred(self, now: datetime) -> int:
        """Make deferred rows whose time has come pending again; how many."""

    async def due_failures(self, keys: Collection[str] | None = None,
                           dead_only: bool = False) -> dict[str, DueFailure]:
        """Due items of `keys` (every one if None) that failed and have not succeeded since,
        dead letters included (only those if `dead_only`)."""

    async def due_failed(self, key: str, error: str, at: datetime,
                         max_attempts: int) -> DueFailure:
        """Count one more failed attempt; the item is dead once it reaches `max_attempts`."""

    async def due_done(self, key: str) -> None:
        """The item succeeded after failing: forget its attempts."""

    async def due_prune(self, before: datetime) -> int:
        """Forget failures last counted before `before` (dead letters past their retention
        included); how many."""

    def is_store_failure(self, exc: BaseException) -> bool:
        """Whether `exc` is the store's (locked, unreachable, full, broken) rather than about
        the work that raised it: that work is not at fault, and is tried again later."""
