"""What the terminal shows of a message: the plain text, then a blank line."""

from __future__ import annotations

from adapters.render import render_plain
from bot.model import Outbound


def render(msg: Outbound) -> str:
    return render_plain(msg) + "\n\n"
