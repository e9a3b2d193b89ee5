"""What other features may use of the forge checks (and nothing else in flows/forge): `!done
LINK` at the task step, and the workshop checkpoints the forge can confirm."""

from __future__ import annotations

from flows.forge.checkpoints import Verdict
from flows.forge.checkpoints import check as check_checkpoint
from flows.forge.done import done_with_link

__all__ = ["Verdict", "check_checkpoint", "done_with_link"]
