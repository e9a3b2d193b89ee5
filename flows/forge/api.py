"""What other features may use of the forge checks (and nothing else in flows/forge): `!done
LINK` at the task step, the workshop checkpoints the forge can confirm, and a person's linked
forge accounts with their cached contributor metrics (`!me`)."""

from __future__ import annotations

from flows.forge.checkpoints import Verdict
from flows.forge.checkpoints import check as check_checkpoint
from flows.forge.done import done_with_link
from flows.forge.metrics import me_section
from flows.forge.records import METRICS, WINDOWS, ForgeLink

__all__ = ["METRICS", "WINDOWS", "ForgeLink", "Verdict", "check_checkpoint", "done_with_link",
           "me_section"]
