"""The [adapters.console] section: the terminal adapter."""

from __future__ import annotations

from bot.config import Section


class ConsoleConfig(Section):
    enabled: bool = False
    name: str = ""  # empty: the login name

    def secret_keys(self) -> list[tuple[str, str]]:
        return []
