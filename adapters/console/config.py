"""The [adapters.console] section: the terminal adapter."""

from __future__ import annotations

from pydantic import field_validator

from bot.config import Section
from bot.text import unseen_characters


def check_console_name(name: str) -> str:
    """A console name as given, or ValueError: never rewritten into another person's name
    ("org" followed by a zero-width space would otherwise become the organizer "org")."""
    unseen = unseen_characters(name)
    if unseen:
        raise ValueError(f"a name must be visible characters only; it holds {', '.join(unseen)}")
    if len(name) > 64:
        raise ValueError("a name is at most 64 characters")
    return name


class ConsoleConfig(Section):
    enabled: bool = False
    name: str = ""  # empty: the login name

    _name_is_visible = field_validator("name")(check_console_name)

    def secret_keys(self) -> list[tuple[str, str]]:
        return []
