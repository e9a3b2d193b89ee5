"""Log lines for operators: text or JSON (`[logging] format`), and on every line logged while
a message is handled, its network and conversation, so one person's trouble can be followed
through the log of a busy bot."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.model import Inbound

# The message being handled (the engine sets it): its network and conversation are worded
# only when a line is logged. Setting the two words instead, on every message, cost two
# context changes and the conversation's text each time, for lines rarely logged.
HANDLING: contextvars.ContextVar[Inbound | None] = contextvars.ContextVar("handling",
                                                                         default=None)


def conversation_of(inbound: Inbound) -> str:
    """How log lines name a message's conversation: "network:sender in room"."""
    return f"{inbound.sender.key} in {inbound.room.id}"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(where)s"


class InConversation(logging.Filter):
    """Adds the message being handled (if any) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        handling = HANDLING.get()
        network = handling.network if handling is not None else ""
        conversation = conversation_of(handling) if handling is not None else ""
        record.__dict__.update(network=network, conversation=conversation,
                               where=f" [{conversation}]" if conversation else "")
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = {"at": at, "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        for key in ("network", "conversation"):
            value = getattr(record, key, "")
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: int, style: str = "text") -> None:
    """The root logger on stderr, in STYLE ("text" or "json"); replaces earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(InConversation())
    handler.setFormatter(JsonLines() if style == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
