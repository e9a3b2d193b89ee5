"""Bridged channels on a real IRC server (ngIRCd on 127.0.0.1): a relay bot and a bridge's
puppets post what people typed on another network, where the bot answered them already. A
recorded relay is fed through the server; only the person typing on IRC is answered, and
every relayed line is logged with why it was not taken. (The Matrix side: tests/test_matrix.py,
test_a_bridged_room_answers_only_people_typing_here.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.relay import Relayed, listed, relayed_line
from tests.ircservers import Client, IrcServer, Line, start_server
from tests.test_irc import BOT, CHANNEL, IrcBot, irc_config, person

# (nick, line) as the channel saw them: matterbridge ("mbridge") relays Matrix and Telegram
# people in its "[{PROTOCOL}] <{NICK}> " format; "ana[m]" is the Matrix bridge's puppet of
# @ana; "dora" relays too, but nobody listed her; "cy" types on IRC.
RELAY_TRANSCRIPT = [
    ("mbridge", "[matrix] <ana> !start"),
    ("mbridge", "<eve> !help"),
    ("ana[m]", "!help"),
    ("dora", "[telegram] <eve> !start"),
    ("cy", "!help"),
]


def assert_skipped(caplog: pytest.LogCaptureFixture, reasons: list[str]) -> None:
    """Each line not taken was logged once, in order, with its reason."""
    skipped = [r.getMessage() for r in caplog.records if "not taking" in r.getMessage()]
    assert len(skipped) == len(reasons), skipped
    for line, reason in zip(skipped, reasons, strict=True):
        assert reason in line, (reason, line)


@pytest.fixture
async def plain() -> AsyncIterator[IrcServer]:
    server = await start_server("ngircd")
    yield server
    await server.stop()


def test_relay_formats_and_listed_accounts() -> None:
    assert relayed_line("[irc] <ana> !start") == Relayed("ana", "!start", "irc")
    assert relayed_line("<bo>: hi there") == Relayed("bo", "hi there")
    assert relayed_line("[matrix]<ana> !help") == Relayed("ana", "!help", "matrix")
    for typed in ("!start", "<b>bold</b>", "<a b> x", "I <3 this", "<ana>"):
        assert relayed_line(typed) is None, typed
    assert listed(["Ana[M]"], ["*[m]"]) == "*[m]"  # IRC nicks compare without case
    assert listed(["tom"], ["*[m]"]) == ""  # brackets are literal, not a character class
    assert listed(["@irc_bo:example.org"], ["@irc_*:example.org"]) == "@irc_*:example.org"
    assert listed(["@bo:example.org"], ["@irc_*:example.org"]) == ""


async def test_a_bridged_channel_answers_only_people_typing_on_irc(
        plain: IrcServer, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.irc.client")
    people = {nick: await person(plain.port, nick) for nick in
              dict.fromkeys(nick for nick, _line in RELAY_TRANSCRIPT)}
    try:
        for client in people.values():
            await client.join(CHANNEL)
        config = irc_config(plain.port, conversation="channel",
                            ignore_senders=["mbridge", "*[m]"])
        async with IrcBot(sqlite_url, config):
            cy = people["cy"]
            for nick, line in RELAY_TRANSCRIPT:
                people[nick].say(CHANNEL, line)
            answer = await cy.expect(lambda ln: ln.command == "PRIVMSG" and ln.nick == BOT)
            assert answer.params[0] == CHANNEL
            assert answer.params[-1] == "Commands you can use:"  # cy's !help
            await asyncio.sleep(1.0)  # anything else the bot says would have come by now
            more = [ln for ln in _drain(cy) if ln.command == "PRIVMSG" and ln.nick == BOT]
            # The rest of that one answer: no second help, no welcome for a relayed !start.
            assert all(ln.params[0] == CHANNEL for ln in more)
            assert not any(ln.params[-1] == "Commands you can use:" for ln in more)
            assert not any("Hi, I'm Wayfinder" in ln.params[-1] for ln in more)
    finally:
        for client in people.values():
            await client.close()
    assert_skipped(caplog, [
        "a line relayed for <ana> on matrix from mbridge, a bridge or bot account ('mbridge' "
        "in adapters.irc.ignore_senders)",
        "a line relayed for <eve> from mbridge",
        "from ana[m], a bridge or bot account ('*[m]'",
        "a line relayed for <eve> on telegram (its format), from dora"])


def _drain(client: Client) -> list[Line]:
    lines = []
    while not client.lines.empty():
        lines.append(client.lines.get_nowait())
    return lines


async def test_a_bridged_telegram_group_answers_only_people_typing_there(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The same on the Telegram Bot API stand-in: a relay posting through a user account
    (listed by its id) and a relayed line from an unlisted one are not taken; the person
    typing in the group is answered."""
    from tests.telegram_api import BotApi
    from tests.test_telegram import TelegramBot

    caplog.set_level(logging.INFO, logger="adapters.telegram.client")
    api = await BotApi().start()
    group: dict[str, Any] = {"chat_id": -100777, "chat_type": "supergroup"}
    try:
        async with TelegramBot(sqlite_url, api, ignore_senders=["555", "@irc_*"]) as bot:
            api.user_says("[irc] <bo> /help", user_id=555, **group)
            api.user_says("/help", user_id=556, username="irc_bo", **group)
            api.user_says("[matrix] <ana> /help", user_id=557, **group)
            (answer,) = await bot.says("/help", user_id=1001, **group)
            assert answer.chat_id == -100777
            assert answer.text.startswith("Commands you can use:")
            assert await bot.app.dispatcher.drain(5)
            assert [s.text for s in api.sent][1:] == []  # nothing for the relayed lines
    finally:
        await api.stop()
    assert_skipped(caplog, [
        "a line relayed for <bo> on irc from 555, a bridge or bot account ('555' in "
        "adapters.telegram.ignore_senders)",
        "a line from 556, a bridge or bot account ('@irc_*'",
        "a line relayed for <ana> on matrix (its format), from 557"])
