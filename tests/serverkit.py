"""What the real-server fixtures share: free loopback ports and config templates."""

from __future__ import annotations

import socket
from pathlib import Path

TEMPLATES = Path(__file__).parent / "servers"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render(template: str, target: Path, **values: object) -> None:
    """Write a template from tests/servers with its @NAME@ placeholders filled in."""
    text = (TEMPLATES / template).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    target.write_text(text)
