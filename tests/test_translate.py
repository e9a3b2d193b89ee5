"""Each adapter's pure translation, on payloads recorded in the platforms' own formats
(tests/payloads): Telegram getUpdates JSON, a Matrix /sync response, raw IRC lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessage, RoomMessageNotice, SyncResponse
from telegram import Update

from adapters.console.translate import inbound_from_line
from adapters.irc.translate import (
    NO_ACCOUNTS,
    NOT_LOGGED_IN,
    event_from_line,
    inbound_from_message,
)
from adapters.matrix.translate import RoomView, Skipped, inbound_from_event, read_event
from adapters.telegram.translate import GroupStart, Pressed, translate
from bot.model import Inbound

PAYLOADS = Path(__file__).resolve().parent / "payloads"
IRC_CAPS = {"account-tag", "message-tags", "server-time", "extended-join", "account-notify"}


def irc_lines() -> list[str]:
    return (PAYLOADS / "irc_lines.txt").read_text(encoding="utf-8").splitlines()


def irc(line: str, **options: Any) -> Inbound | None:
    options.setdefault("me", "wayfinder")
    options.setdefault("caps", IRC_CAPS)
    return inbound_from_message(event_from_line(line), **options)


def test_irc_a_private_message_with_account_and_msgid_tags() -> None:
    inbound = irc(irc_lines()[0])
    assert inbound is not None
    assert (inbound.network, inbound.event_id) == ("irc", "msgid:Yb3Hq0yT2A8v")
    assert inbound.sender.key == "irc:ana"
    assert inbound.sender.verified
    assert (inbound.room.id, inbound.room.direct, inbound.direct) == ("account:ana", True, True)
    assert inbound.text == "!start"
    assert inbound.at == datetime(2026, 11, 29, 10, 0, 0, 123000, tzinfo=UTC)
    assert inbound.why_unverified == ""


def test_irc_a_channel_message_without_an_account_is_the_nick_unverified() -> None:
    line = irc_lines()[1]
    inbound = irc(line)
    assert inbound is not None
    assert inbound.event_id == "msgid:k9z1P3"
    assert inbound.sender.key == "irc:~bo"  # its own id space: never an account
    assert not inbound.sender.verified
    assert inbound.why_unverified == NOT_LOGGED_IN  # the server could have told us
    # !start in a channel goes on in private, remembering where it came from ...
    assert (inbound.room.id, inbound.room.name, inbound.room.direct) == \
        ("nick:bo", "#my-project", True)
    assert not inbound.direct
    # ... or, by config, in the channel itself.
    in_channel = irc(line, conversation="channel")
    assert in_channel is not None
    assert (in_channel.room.id, in_channel.room.direct) == ("#my-project", False)


def test_irc_without_msgid_a_replayed_line_keeps_its_id() -> None:
    line = irc_lines()[2]
    first, again = irc(line, unique="a"), irc(line, unique="b")
    assert first is not None
    assert again is not None
    assert first.event_id.startswith("h:")
    assert first.event_id == again.event_id
    other = irc(line.replace("hello everyone", "hello again"))
    assert other is not None
    assert other.event_id != first.event_id
    assert first.sender.key == "irc:~cy"  # nicks are casefolded


def test_irc_without_tags_or_account_capabilities() -> None:
    line = irc_lines()[3]
    bare = irc(line, caps=set(), unique="1")
    assert bare is not None
    assert not bare.sender.verified
    assert bare.why_unverified == NO_ACCOUNTS
    twin = irc(line, caps=set(), unique="2")
    assert twin is not None
    assert bare.event_id != twin.event_id  # without server time no replay: ids stay apart
    # What the connection learned of the nick (extended-join, WHOX) vouches for it.
    known = irc(line, caps={"extended-join"}, roster_account="ana", unique="1")
    assert known is not None
    assert known.sender.key == "irc:ana"
    assert known.sender.verified


def test_irc_our_echo_servers_and_notices_are_not_for_the_bot() -> None:
    echo, server, notice = irc_lines()[4:7]
    assert irc(echo) is None
    assert irc(echo, me="WayFinder") is None  # nicks compare casefolded
    assert irc(server) is None
    assert irc(notice) is None


def telegram_updates() -> list[Update]:
    data = json.loads((PAYLOADS / "telegram_updates.json").read_text(encoding="utf-8"))
    updates = [Update.de_json(item, None) for item in data["result"]]
    assert all(u is not None for u in updates)
    return [u for u in updates if u is not None]


def test_telegram_a_deep_link_start_in_a_private_chat() -> None:
    inbound = translate(telegram_updates()[0], "wayfinder_bot")
    assert isinstance(inbound, Inbound)
    assert (inbound.network, inbound.event_id) == ("telegram", "815642101")
    assert inbound.sender.key == "telegram:123456789"
    assert inbound.sender.verified
    assert inbound.text == "/start"  # the payload names the group the person came from
    assert (inbound.room.id, inbound.room.name) == ("123456789", "https://t.me/my_project")
    assert inbound.direct
    assert inbound.room.direct
    assert inbound.at == datetime.fromtimestamp(1764414000, UTC)
    assert inbound.language == "pt-br"  # the app's language: the person's default (issue 20)


def test_telegram_start_in_a_group_is_answered_with_a_link_not_by_the_bot() -> None:
    meaning = translate(telegram_updates()[1], "wayfinder_bot")
    assert isinstance(meaning, GroupStart)
    assert meaning.message.chat.id == -1001234567890


def test_telegram_a_pressed_button_is_the_choices_number_from_who_pressed_it() -> None:
    meaning = translate(telegram_updates()[2], "wayfinder_bot")
    assert isinstance(meaning, Pressed)
    assert meaning.label == "Documentation"
    assert meaning.query.id == "4382bfdwdsb323b2d9"
    inbound = meaning.inbound
    assert inbound is not None
    assert (inbound.event_id, inbound.text) == ("815642103", "2")
    assert inbound.sender.key == "telegram:123456789"
    assert inbound.sender.verified
    assert (inbound.room.id, inbound.direct) == ("123456789", True)
    # The press, to acknowledge through the outbox once the turn commits.
    assert inbound.press is not None
    assert (inbound.press.token, inbound.press.label) == ("4382bfdwdsb323b2d9", "Documentation")
    assert inbound.press.message_id == str(meaning.query.message.message_id)  # type: ignore[union-attr]


def test_telegram_edits_and_media_are_not_for_the_bot() -> None:
    edited, photo = telegram_updates()[3:5]
    assert translate(edited, "wayfinder_bot") is None
    assert translate(photo, "wayfinder_bot") is None


@pytest.fixture
def sync() -> SyncResponse:
    data = json.loads((PAYLOADS / "matrix_sync.json").read_text(encoding="utf-8"))
    answer = SyncResponse.from_dict(data)
    assert isinstance(answer, SyncResponse)
    return answer


ME = "@wayfinder:example.org"


def test_matrix_a_message_in_a_direct_room(sync: SyncResponse) -> None:
    hello, edit, mine = sync.rooms.join["!dm:example.org"].timeline.events
    room = RoomView("!dm:example.org", direct=True)
    inbound = inbound_from_event(room, hello, me=ME)
    assert inbound is not None
    assert (inbound.network, inbound.event_id, inbound.text) == \
        ("matrix", "$hello:example.org", "!start")
    assert inbound.sender.key == "matrix:@ana:example.org"
    assert inbound.sender.verified
    assert (inbound.room.id, inbound.room.direct, inbound.direct) == \
        ("!dm:example.org", True, True)
    assert inbound.at == datetime.fromtimestamp(1764414000, UTC)
    assert inbound_from_event(room, edit, me=ME) is None  # the original was answered
    assert inbound_from_event(room, mine, me=ME) is None


def test_matrix_a_room_message_follows_the_conversation_setting(sync: SyncResponse) -> None:
    info = sync.rooms.join["!project:example.org"]
    alias = next(e.canonical_alias for e in info.state if hasattr(e, "canonical_alias"))
    start, in_thread, reaction = info.timeline.events
    room = RoomView("!project:example.org", alias, configured=True)
    assert inbound_from_event(RoomView("!project:example.org", alias), start, me=ME) is None
    private = inbound_from_event(room, start, me=ME)
    assert private is not None
    assert (private.room.id, private.room.name, private.room.direct, private.direct) == \
        ("dm:@bo:other.org", "#my-project:example.org", True, False)
    assert private.text == "!start"  # the plain body, never the HTML
    here = inbound_from_event(room, start, me=ME, conversation="room")
    assert here is not None
    assert (here.room.id, here.room.direct) == ("!project:example.org", False)
    threaded = inbound_from_event(room, start, me=ME, conversation="thread")
    assert threaded is not None
    assert threaded.room.id == "!project:example.org|thread:$inroom:example.org"
    assert not threaded.direct
    reply = inbound_from_event(room, in_thread, me=ME, conversation="thread",
                               threads={"$inroom:example.org"})
    assert reply is not None
    assert reply.room.id == threaded.room.id
    assert reply.direct
    assert not reply.room.direct  # a thread of a shared room: no private answer goes there
    assert inbound_from_event(room, reaction, me=ME) is None


def test_matrix_a_direct_room_is_one_of_just_the_two_and_every_skip_has_a_reason(
        sync: SyncResponse) -> None:
    hello, edit, mine = sync.rooms.join["!dm:example.org"].timeline.events
    # A room of just the two of them that is no project room is direct, recorded or not.
    found = read_event(RoomView("!other:example.org", members=2), hello, me=ME)
    assert isinstance(found, Inbound)
    assert (found.room.id, found.room.direct, found.direct) == ("!other:example.org", True, True)
    # A third person makes it no private room, even one the bot opened as direct: the person
    # it was for is answered in a room of just the two of them; anyone else not at all.
    moved = read_event(RoomView("!dm:example.org", direct=True, members=3,
                                partner="@ana:example.org"), hello, me=ME)
    assert isinstance(moved, Inbound)
    assert (moved.room.id, moved.room.direct) == ("dm:@ana:example.org", True)
    crowded = read_event(RoomView("!dm:example.org", direct=True, members=3,
                                  partner="@bo:example.org"), hello, me=ME)
    assert crowded == Skipped("a direct room of 3 members that is not one of "
                              "adapters.matrix.rooms: the bot answers there only while the "
                              "person and the bot are alone in it")
    # A project room of two is still the project room (the conversation goes private).
    project = read_event(RoomView("!p:example.org", configured=True, members=2), hello, me=ME)
    assert isinstance(project, Inbound)
    assert project.room.id == "dm:@ana:example.org"
    assert read_event(RoomView("!dm:example.org", direct=True), edit, me=ME) == Skipped(
        "an edit: the original message was answered")
    assert read_event(RoomView("!dm:example.org", direct=True), mine, me=ME) == Skipped("")
    notice = RoomMessageNotice.from_dict({**hello.source, "content": {
        "msgtype": "m.notice", "body": "!start"}})
    image = RoomMessage.parse_event({**hello.source, "content": {
        "msgtype": "m.image", "body": "cat.png", "url": "mxc://example.org/cat"}})
    for event, reason in [(notice, "a notice (m.notice)"), (image, "an image: the bot reads")]:
        skipped = read_event(RoomView("!dm:example.org", direct=True), event, me=ME)
        assert isinstance(skipped, Skipped)
        assert skipped.reason.startswith(reason), skipped


def test_console_a_line_is_a_verified_direct_message() -> None:
    inbound = inbound_from_line("!start\r\n", 3, session="abc", name="ana")
    assert (inbound.event_id, inbound.text, inbound.sender.key) == ("abc:3", "!start",
                                                                    "console:ana")
    assert inbound.sender.verified
    assert inbound.direct
    assert inbound.room.id == "console:ana"
    assert inbound_from_line("hi", 4, session="abc", name="ana", room="#pagebot").room.id == \
        "#pagebot"
