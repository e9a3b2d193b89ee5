"""Each adapter names its way to message the bot privately (Capabilities.reach_privately)."""

from __future__ import annotations

import io

from adapters.console.client import ConsoleAdapter
from adapters.irc.client import IrcAdapter
from adapters.irc.config import IrcConfig
from adapters.matrix.client import MatrixAdapter
from adapters.matrix.config import MatrixConfig
from adapters.telegram.client import private_route


def test_irc_names_the_msg_command_to_its_nick() -> None:
    route = IrcAdapter(IrcConfig(nick="guide")).capabilities.reach_privately
    assert route.replace("{line}", "!stuck x") == "type /msg guide !stuck x"


def test_matrix_names_a_direct_message_to_its_user_id() -> None:
    adapter = MatrixAdapter(MatrixConfig(user_id="@guide:lumen.test"), "secret", "key")
    assert adapter.capabilities.reach_privately.replace("{line}", "!stuck x") == (
        "send it in a direct message to @guide:lumen.test: !stuck x")


def test_telegram_names_its_private_chat_link() -> None:
    assert private_route("guide_bot").replace("{line}", "/stuck x") == (
        "open https://t.me/guide_bot (tap Start if asked) and send: /stuck x")
    assert private_route("") == ""  # before getMe: no link to give


def test_the_console_names_no_route() -> None:
    adapter = ConsoleAdapter("ana", stdin=io.StringIO(), stdout=io.StringIO())
    assert adapter.capabilities.reach_privately == ""
