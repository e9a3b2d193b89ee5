"""The core's ports: what adapters and storage implement, as small typed interfaces."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.model import Capabilities, Identity, Inbound, Network, Outbound, PersonId, Receipt
from bot.records import Case, Certificate, LinkCode, MentorState, Nudge, Record, TaskClaim

InboundSink = Callable[[Inbound], Awaitable[None]]


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


class Adapter(Protocol):
    network: Network
    capabilities: Capabilities

    async def run(self, sink: InboundSink) -> None:
        """Connect, receive and reconnect until cancelled (or, for finite inputs, until done)."""

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        """Deliver one message; raise TransientSendError or PermanentSendError on failure."""


@dataclass
class PersonState:
    """Where one person is: the flow, the step, and the flow data (JSON)."""

    person_id: PersonId
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    encoded: str = field(default="", compare=False)  # `data` as JSON, when already known


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


@dataclass
class UnitOfWork:
    """Everything one handled message changes, committed as one transaction."""

    person_id: PersonId
    inbox: tuple[Network, str] | None = None
    state: PersonState | None = None
    outbox: list[OutboxItem] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


@dataclass(frozen=True)
class CommitResult:
    """`duplicate` means the inbound event was seen before and nothing was written."""

    duplicate: bool
    outbox: tuple[OutboxRow, ...] = ()


class ConflictError(Exception):
    """A unit of work broke a uniqueness rule (a task claimed twice); nothing of it was written."""


class Reads(Protocol):
    """What flows may read. Writes only happen through a UnitOfWork."""

    async def active_claim(self, person_id: PersonId) -> TaskClaim | None: ...

    async def claimed_task_ids(self) -> set[str]: ...

    async def link_code(self, code: str) -> LinkCode | None: ...

    async def link_codes_since(self, person_id: PersonId, since: datetime) -> int: ...

    async def events_since(self, person_id: PersonId, kind: str, since: datetime) -> int: ...

    async def identities(self, person_id: PersonId) -> list[Identity]: ...

    async def certificates_of(self, person_id: PersonId) -> list[Certificate]: ...

    async def load_state(self, person_id: PersonId) -> PersonState | None: ...

    async def idle_claims(self, before: datetime) -> list[TaskClaim]: ...

    async def case(self, code: str) -> Case | None: ...

    async def open_case_of(self, person_id: PersonId) -> Case | None: ...

    async def cases_of_mentor(self, mentor_key: str) -> list[Case]: ...

    async def mentor_loads(self) -> dict[str, int]: ...

    async def mentor_states(self) -> dict[str, MentorState]: ...

    async def due_escalations(self, now: datetime) -> list[Case]: ...

    async def due_nudges(self, now: datetime, limit: int = 500) -> list[Nudge]: ...


class Store(Reads, Protocol):
    """The durable store: reads for flows, plus the core's own needs."""

    async def person_for(self, identity: Identity) -> PersonId: ...

    async def commit(self, unit: UnitOfWork) -> CommitResult: ...

    async def pending_outbox(self) -> list[OutboxRow]: ...

    async def mark_sent(self, outbox_ids: list[int]) -> None: ...

    async def mark_retry(self, outbox_id: int, error: str) -> None: ...

    async def mark_dead(self, outbox_id: int, error: str) -> None: ...

    async def mark_unknown(self, outbox_id: int, error: str) -> None: ...

    async def certificate(self, code: str) -> Certificate | None: ...

    async def dead_letters(self) -> list[OutboxRow]: ...
