"""What the account feature reads from the store: link codes, and the claims of the people a
code links (the path's). Handlers get it through `reads_of(turn.reads)`; the composition root
checks statically that its store has these (bot/app.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, cast, runtime_checkable

from bot.model import PersonId
from bot.ports import Reads, conforms
from flows.account.records import LinkCode
from flows.path.api import TaskClaim


@runtime_checkable
class AccountReads(Reads, Protocol):
    """The account handlers' reads."""

    async def link_code(self, code: str) -> LinkCode | None: ...

    async def link_codes_since(self, person_id: PersonId, since: datetime) -> int: ...

    async def active_claim(self, person_id: PersonId) -> TaskClaim | None: ...


def reads_of(reads: Reads) -> AccountReads:
    """The store behind a turn, as the account feature reads it."""
    if not conforms(reads, AccountReads):
        raise TypeError(f"{type(reads).__name__} lacks the account feature's reads")
    return cast(AccountReads, reads)
