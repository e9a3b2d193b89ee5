"""Log lines: text or JSON, with the network and conversation of the message being handled."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.logs import HANDLING, configure
from bot.model import ExternalId, Identity, Inbound, Network, RoomRef


@contextmanager
def handling(network: str, sender: str, room: str) -> Iterator[None]:
    """While a message from `sender` in `room` is handled, as the engine sets it."""
    net = Network(network)
    token = HANDLING.set(Inbound(net, "e1", RoomRef(net, room),
                                 Identity(net, ExternalId(sender), True), "!start", False,
                                 datetime.now(UTC)))
    try:
        yield
    finally:
        HANDLING.reset(token)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_network_and_conversation(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure(logging.INFO, "json")
    log = logging.getLogger("wayfinder.test")
    log.info("outside any message")
    with handling("irc", "ana", "#lumen"):
        log.warning("while handling: %s", "it")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["outside any message", "while handling: it"]
    assert "network" not in lines[0]
    assert (lines[1]["network"], lines[1]["conversation"], lines[1]["level"]) == (
        "irc", "irc:ana in #lumen", "WARNING")


def test_text_lines_name_the_conversation_too(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure(logging.INFO)
    with handling("telegram", "1001", "1001"):
        logging.getLogger("wayfinder.test").info("hello")
    line = capsys.readouterr().err.rstrip()
    assert line.endswith("wayfinder.test: hello [telegram:1001 in 1001]")


def test_the_message_being_handled_names_its_network_and_conversation(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure(logging.INFO, "json")
    with handling("irc", "ana", "#lumen"):  # as the engine does while it handles the message
        logging.getLogger("wayfinder.test").warning("while handling")
    (line,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert (line["network"], line["conversation"]) == ("irc", "irc:ana in #lumen")


async def test_a_bot_configured_for_json_logs_writes_only_json(tmp_path: Path) -> None:
    (tmp_path / "wayfinder.toml").write_text('[logging]\nformat = "json"\n', encoding="utf-8")
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "-vv", "chat", "--as", "ana"],
        cwd=tmp_path, input="!start\n", capture_output=True, text=True, timeout=60,
        check=False)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert lines, "nothing was logged at -vv"
    assert {"at", "level", "logger", "message"} <= set(lines[0])
