"""The Matrix adapter against a real Synapse on 127.0.0.1: conversations, unencrypted and
end-to-end encrypted; access tokens; invites and leaving; threads; events the bot must shrug
off."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, JoinedRoomsResponse, LoginResponse

from adapters.matrix.client import MatrixAdapter
from bot.ports import AdapterFatalError, Outcome
from tests.matrixkit import (
    BOT_PASSWORD,
    PICKLE_KEY,
    Person,
    matrix_config,
    person,
    running_bot,
)
from tests.synapse import Synapse


@pytest.fixture
async def bot_id(synapse: Synapse) -> str:
    return await synapse.register("wayfinder", BOT_PASSWORD)


@pytest.fixture
async def ana(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Person]:
    someone = await person(synapse, "ana", tmp_path)
    yield someone
    await someone.close()


@contextlib.asynccontextmanager
async def started(synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
                  encrypted: bool = False) -> AsyncIterator[tuple[str, str, Any]]:
    """The bot running in a room of ana's, where she has said !start: (the room, the direct
    room the conversation goes on in, the first notice there)."""
    room = await ana.create_room([bot_id], encrypted=encrypted)
    config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room],
                           encrypt_direct_rooms=encrypted)
    async with running_bot(config, sqlite_url):
        await ana.joined(room, bot_id)
        await ana.say(room, "!start")
        dm_room, first = await ana.notice()
        yield room, dm_room, first


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_start_in_a_room_continues_in_a_direct_room(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
        encrypted: bool) -> None:
    async with started(synapse, bot_id, ana, sqlite_url, tmp_path, encrypted) as (
            room, dm_room, first):
        assert dm_room != room  # the answer comes in a direct room
        assert ana.client.rooms[dm_room].encrypted is encrypted
        assert "Hi, I'm Wayfinder" in first.body
        assert first.source["content"]["m.mentions"] == {}  # nobody is pinged
        _room, question = await ana.notice()
        assert "What are you interested in?" in question.body
        assert "<ol><li>!1 " in question.source["content"]["formatted_body"]
        await ana.say(dm_room, "automation, 5")
        _room, second = await ana.notice()
        assert "What are you good at" in second.body
        await ana.say(dm_room, "!skip")
        await ana.notice_containing("Which programming languages")
        await ana.say(dm_room, "!skip")
        _room, fits = await ana.notice_containing("These projects fit you best")
        assert fits.source["content"]["msgtype"] == "m.notice"
    assert ana.undecrypted == []


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_mydata_arrives_as_a_file_in_the_direct_room(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
        encrypted: bool) -> None:
    async with started(synapse, bot_id, ana, sqlite_url, tmp_path, encrypted) as (
            _room, dm_room, _first):
        await ana.say(dm_room, "!mydata")
        _room, told = await ana.notice_containing("Here is everything I hold about you")
        assert "as a JSON file" in told.body
        event, data = await ana.file()
        assert event.body.startswith("wayfinder-mydata-")
        assert event.source["content"]["info"]["mimetype"] == "application/json"
        exported = json.loads(data)
        assert exported["identities"] == [f"matrix:{ana.mxid}"]
        assert exported["tables"]["flow_state"]
    assert ana.undecrypted == []


async def test_a_certificate_arrives_as_a_pdf_file_in_the_direct_room(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    import io

    import pypdf

    async with started(synapse, bot_id, ana, sqlite_url, tmp_path) as (_room, dm_room, _first):
        await ana.notice_containing("What are you interested in?")
        await ana.say(dm_room, "!name Ana Lima")
        await ana.notice_containing("your certificates will carry this name")
        for line, expect in [("!skip", "What are you good at"), ("!skip", "Which programming"),
                             ("!skip", "Pagebot"),
                             ("Pagebot", "step 1 of 6"), ("done", "step 2 of 6"),
                             ("main", "step 3 of 6"), ("!1", "step 4 of 6"),
                             ("pytest tests/unit", "step 5 of 6"), ("!skip", "step 6 of 6"),
                             ("https://code.lumen.test/pagebot/pagebot/-/merge_requests/7",
                              "Here it is as a PDF")]:
            await ana.say(dm_room, line)
            await ana.notice_containing(expect)
        event, data = await ana.file()
        assert event.body.startswith("certificate-")
        assert event.source["content"]["info"]["mimetype"] == "application/pdf"
        text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
        assert "Ana Lima" in text
        assert "Get started with Pagebot" in text
        assert ana.mxid not in text


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_an_rsvp_export_arrives_byte_for_byte_as_a_file(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
        encrypted: bool) -> None:
    """The organizer's RSVP export (once dropped on Matrix): uploaded (encrypted in an
    encrypted room), sent as m.file, and what ana downloads is exactly what the bot made."""
    import sqlalchemy as sa

    from bot.model import outbound_from_json
    from storage.records import outbox_t

    config = matrix_config(synapse, bot_id, tmp_path / "bot", encrypt_direct_rooms=encrypted)
    async with running_bot(config, sqlite_url,
                           roles={"organizers": [f"matrix:{ana.mxid}"]}) as bot:
        room = await ana.open_direct(bot_id, encrypted=encrypted)
        for line, expect in [("!region de", "Region set to Germany"),
                             ("!rsvp lumen-online-sprint yes", "See you there"),
                             ("!event export lumen-online-sprint", "Answers for")]:
            await ana.say(room, line)
            await ana.notice_containing(expect)
        event, data = await ana.file()
        rows = await bot.app.store._all(sa.select(outbox_t).order_by(outbox_t.c.id))
    (made,) = [f for f in (outbound_from_json(r.body).file for r in rows) if f is not None]
    assert event.body == made.name == "lumen-online-sprint-rsvps.csv"
    content = event.source["content"]
    assert content["msgtype"] == "m.file"
    assert content["info"] == {"mimetype": "text/csv", "size": len(made.data)}
    assert ("file" in content) is encrypted  # an encrypted room's upload is encrypted too
    assert data == made.data
    assert f"matrix:{ana.mxid}" in data.decode()


async def test_a_new_device_gets_the_keys_of_the_next_reply(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    room = await ana.create_room([bot_id], encrypted=True)
    config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room])
    async with running_bot(config, sqlite_url):
        await ana.joined(room, bot_id)
        await ana.say(room, "!start")
        dm_room, _first = await ana.notice()
        await ana.notice_containing("What are you interested in?")
        laptop = await person(synapse, "ana", tmp_path, device="LAPTOP")
        try:
            await laptop.say(dm_room, "automation, 5")  # from the device the bot never saw
            for someone in (ana, laptop):
                _room, reply = await someone.notice_containing("What are you good at")
                assert reply.decrypted
        finally:
            await laptop.close()


async def test_thread_mode_keeps_the_conversation_in_a_thread(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    room = await ana.create_room([bot_id])
    config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room],
                           conversation="thread")
    async with running_bot(config, sqlite_url):
        await ana.joined(room, bot_id)
        root = await ana.say(room, "!start")
        for expected in ("Hi, I'm Wayfinder", "What are you interested in?"):
            where, reply = await ana.notice_containing(expected)
            assert where == room
            relation = reply.source["content"]["m.relates_to"]
            assert (relation["rel_type"], relation["event_id"]) == ("m.thread", root)
        await ana.say(room, "automation, 5", **{"m.relates_to": {
            "rel_type": "m.thread", "event_id": root, "is_falling_back": True,
            "m.in_reply_to": {"event_id": root}}})
        _where, reply = await ana.notice_containing("What are you good at")
        assert reply.source["content"]["m.relates_to"]["event_id"] == root


async def test_a_private_answer_asked_in_a_shared_room_comes_in_a_direct_room(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    """Regression: with conversation = "room", `!link` posted its one-time code to the room.
    The code comes in a direct room; the shared room hears only that it was answered."""
    room = await ana.create_room([bot_id])
    config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room],
                           conversation="room")
    async with running_bot(config, sqlite_url):
        await ana.joined(room, bot_id)
        await ana.say(room, "!link")
        notices = [await ana.notice(), await ana.notice()]
        in_room = [e.body for where, e in notices if where == room]
        elsewhere = [(where, e.body) for where, e in notices if where != room]
        assert in_room == [f"{ana.mxid}:\nI've answered your !link in a private message, so "
                           "that others can't see it."]  # mentioned, so they notice
        ((dm_room, code),) = elsewhere
        assert "Your link code is" in code
        members = await ana.client.joined_members(dm_room)
        assert sorted(m.user_id for m in members.members) == sorted([ana.mxid, bot_id])


async def test_invites_are_accepted_only_as_configured(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    listed = await ana.create_room([bot_id], name="listed")
    config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[listed])
    async with running_bot(config, sqlite_url) as bot:
        await ana.joined(listed, bot_id)
        other = await ana.create_room([bot_id], name="not listed")
        direct = await ana.open_direct(bot_id)  # from the bot's homeserver
        assert bot.adapter.client is not None
        assert other not in bot.adapter.client.rooms  # declined
        await ana.say(direct, "!help")
        where, _help = await ana.notice()
        assert where == direct
    strict = matrix_config(synapse, bot_id, tmp_path / "bot",
                           allowed_homeservers=["elsewhere.example"])
    async with running_bot(strict, sqlite_url) as bot:
        declined = await ana.client.room_create(invite=[bot_id], is_direct=True)
        await ana.joined(listed, bot_id)
        await ana.say(listed, "!help")  # wakes the bot's sync after the invite
        assert bot.adapter.client is not None
        assert declined.room_id not in bot.adapter.client.rooms


async def test_edits_redactions_and_odd_events_never_stop_the_loop(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    room = await ana.create_room([bot_id])
    config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room],
                           conversation="room")
    async with running_bot(config, sqlite_url):
        await ana.joined(room, bot_id)
        original = await ana.say(room, "hello")
        await ana.say(room, "* !start", **{"m.new_content": {"msgtype": "m.text",
                                                              "body": "!start"},
                                            "m.relates_to": {"rel_type": "m.replace",
                                                             "event_id": original}})
        await ana.client.room_redact(room, original, reason="typo")
        await ana.client.room_send(room, "m.reaction", {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": original, "key": "👍"}})
        await ana.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": 42})
        await ana.client.room_send(room, "m.room.message", {"msgtype": "m.text",
                                                            "m.relates_to": "nonsense",
                                                            "body": "!nonsense"})
        await ana.client.room_send(room, "org.example.custom", {"anything": [1, 2]})
        await ana.say(room, "")
        await ana.say(room, "x" * 60_000)
        await ana.say(room, "!help")
        # The loop is alive: !help is answered; the edit did not start anything; the only
        # other answer is to the unknown command.
        replies: list[str] = []
        while not replies or "this list" not in replies[-1]:
            replies.append((await ana.notice())[1].body)
        assert len(replies) <= 2, replies
        assert not any("Hi, I'm Wayfinder" in r for r in replies)


async def test_an_access_token_logs_in_as_the_device_it_belongs_to(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    issuer = AsyncClient(synapse.url, bot_id, device_id="TOKENDEV")
    login = await issuer.login(BOT_PASSWORD)
    await issuer.close()  # the token stays valid: no logout
    assert isinstance(login, LoginResponse), login
    config = matrix_config(synapse, bot_id, tmp_path / "bot", access_token_env="MX_TOKEN")
    async with running_bot(config, sqlite_url, access_token=login.access_token) as bot:
        assert bot.adapter.client is not None
        assert bot.adapter.client.device_id == "TOKENDEV"  # not the configured WAYFINDER
        dm_room = await ana.open_direct(bot_id, encrypted=True)
        await ana.say(dm_room, "!help")
        where, answer = await ana.notice()
        assert where == dm_room
        assert answer.decrypted


async def test_a_refused_access_token_stops_the_adapter_naming_the_key(
        synapse: Synapse, bot_id: str, tmp_path: Path) -> None:
    config = matrix_config(synapse, bot_id, tmp_path / "bot", access_token_env="MX_TOKEN")
    adapter = MatrixAdapter(config, "syt_not_a_token", PICKLE_KEY, secret_is_token=True)

    async def ignore(_inbound: object) -> Outcome:
        raise AssertionError("nothing can arrive without a login")

    with pytest.raises(AdapterFatalError, match=r"\$MX_TOKEN \(adapters.matrix.access_token_env\)"):
        await adapter.run(ignore)


async def test_the_bot_leaves_a_direct_room_once_everyone_else_has(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    config = matrix_config(synapse, bot_id, tmp_path / "bot")
    async with running_bot(config, sqlite_url) as bot:
        opened = await ana.open_direct(bot_id)
        await ana.say(opened, "!help")
        await ana.notice()
        await ana.client.room_leave(opened)
        client = bot.adapter.client
        assert client is not None
        for _ in range(100):  # the homeserver's word, not nio's memory
            joined = await client.joined_rooms()
            assert isinstance(joined, JoinedRoomsResponse), joined
            if opened not in joined.rooms:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the bot stayed alone in the direct room for 10 s")



async def test_every_direct_room_is_answered_in_itself_and_nothing_is_ignored_in_silence(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """Ana has two direct rooms with the bot (from two clients, say): each is answered where
    she wrote, and later messages for her go to the one she used last. Once a third person
    is in one of them it is no longer private: what she writes there is answered in a new
    room of just the two of them, what bo writes there is not taken, and the log says why,
    as it does for a notice."""
    caplog.set_level(logging.INFO, logger="adapters.matrix.client")
    config = matrix_config(synapse, bot_id, tmp_path / "bot")
    bo = await person(synapse, "bo", tmp_path)
    try:
        async with running_bot(config, sqlite_url) as bot:
            first = await ana.open_direct(bot_id)
            await ana.say(first, "!help")
            assert (await ana.notice())[0] == first
            second = await ana.open_direct(bot_id, encrypted=True)
            await ana.say(second, "!help")
            where, answer = await ana.notice()
            assert where == second
            assert answer.decrypted
            assert bot.adapter._dm_rooms[ana.mxid] == second  # where her next ping goes
            await ana.client.room_send(second, "m.room.message", {
                "msgtype": "m.notice", "body": "!help"}, ignore_unverified_devices=True)
            await ana.client.room_invite(second, bo.mxid)
            await bo.joined(second, bo.mxid)
            await ana.joined(second, bo.mxid)
            await bo.say(second, "!help")
            await ana.say(second, "!status")
            where, status = await ana.notice()
            assert where not in (first, second)  # a new direct room, bo not in it
            assert "Your path" in status.body or "!start" in status.body, status.body
            members = await ana.client.joined_members(where)
            assert sorted(m.user_id for m in members.members) == sorted([ana.mxid, bot_id])
            await ana.say(first, "!help")  # the first room still is just the two of them
            where, _answer = await ana.notice()
            assert where == first
            assert bo.notices.empty()
    finally:
        await bo.close()
    said = [r.getMessage() for r in caplog.records if "not taking" in r.getMessage()]
    assert any("a notice (m.notice), which is what bots send: never a command" in line
               for line in said), said
    assert any(f"from {bo.mxid} in {second}: a direct room of 3 members that is not one of "
               "adapters.matrix.rooms" in line for line in said), said
    assert all(r.levelno == logging.INFO for r in caplog.records if "not taking" in r.getMessage())


# A bridged project room as it was seen: the bridge's state, then what people typed on both
# sides, in order. (sender, body): "ana" types on Matrix; the bridge bot relays IRC lines in
# matterbridge's formats; "@irc_bo" is a puppet of the IRC user bo.
RELAY_TRANSCRIPT = [
    ("relay", "[irc] <bo> !start"),
    ("relay", "<bo> !help"),
    ("irc_bo", "!start"),
    ("carl", "[irc] <cy> !help"),  # a relay nobody listed: known by its format
    ("ana", "!help"),
]


async def test_a_bridged_room_answers_only_people_typing_here(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """A project room bridged to IRC: the bot sits on both networks, so the lines the bridge
    relays from IRC were answered there. Here it answers only ana, who typed in this room;
    every relayed line is logged with why it was not taken."""
    caplog.set_level(logging.INFO, logger="adapters.matrix.client")
    people = {"ana": ana}
    try:
        for name in ("relay", "irc_bo", "carl"):
            people[name] = await person(synapse, name, tmp_path)
        room = await ana.create_room([bot_id, *(p.mxid for n, p in people.items()
                                                if n != "ana")])
        await ana.client.room_put_state(room, "m.bridge", {
            "bridgebot": people["relay"].mxid, "protocol": {"id": "irc"},
            "channel": {"id": "#lumen-docs"}}, state_key="irc/#lumen-docs")
        config = matrix_config(synapse, bot_id, tmp_path / "bot", rooms=[room],
                               conversation="room", ignore_senders=["@irc_*:localhost"])
        async with running_bot(config, sqlite_url) as bot:
            for name in ("relay", "irc_bo", "carl"):
                await ana.joined(room, people[name].mxid)
            await ana.joined(room, bot_id)
            for name, body in RELAY_TRANSCRIPT:
                await people[name].say(room, body)
            where, answer = await ana.notice()
            assert where == room
            assert "this list" in answer.body  # !help, for ana
            assert await bot.app.dispatcher.drain(5)
            await asyncio.sleep(1.5)  # a sync or two more: nothing else comes
            assert ana.notices.empty(), ana.notices.get_nowait()
    finally:
        for name, someone in people.items():
            if name != "ana":
                await someone.close()
    said = [r.getMessage() for r in caplog.records]
    assert any(f"{room} is bridged (irc) by @relay:localhost" in line for line in said), said
    skipped = [line for line in said if "not taking" in line]
    assert len(skipped) == 4, skipped
    assert any("a line relayed for <bo> on irc from @relay:localhost, a bridge or bot account "
               "('@relay:localhost' in the room's m.bridge state)" in s for s in skipped)
    assert any("from @irc_bo:localhost, a bridge or bot account ('@irc_*:localhost' in "
               "adapters.matrix.ignore_senders)" in s for s in skipped)
    assert any("a line relayed for <cy> on irc (its format), from @carl:localhost" in s
               for s in skipped)


async def test_a_members_new_device_gets_the_key_of_an_earlier_reply_on_request(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """Ana logs in on a second device after the bot answered her in an encrypted direct room:
    the new device asks the bot for that reply's room key and gets it (trust on first use);
    bo, who was never in the room, asks for the same key and is refused, with the reason in
    the log. (nio, like Element's crypto, takes forwarded keys only from its own verified
    devices; the second device is told to take them from the bot too, as a client that asks
    the sender of a message for its key does.)"""
    from nio import MegolmEvent, ToDeviceMessage
    from nio.crypto import OutgoingKeyRequest

    caplog.set_level(logging.INFO, logger="adapters.matrix.keyshare")
    config = matrix_config(synapse, bot_id, tmp_path / "bot")
    bo = await person(synapse, "bo", tmp_path)
    second: Person | None = None
    try:
        async with running_bot(config, sqlite_url) as bot:
            room = await ana.open_direct(bot_id, encrypted=True)
            await ana.say(room, "!help")
            _room, first = await ana.notice()
            second = await person(synapse, "ana", tmp_path, device="SECOND")
            (missed,) = [e for e in second.undecrypted if e.event_id == first.event_id]
            assert isinstance(missed, MegolmEvent)
            olm = second.client.olm
            assert olm is not None
            olm.outgoing_key_requests[missed.session_id] = OutgoingKeyRequest(
                missed.session_id, missed.session_id, room, "m.megolm.v1.aes-sha2")
            olm._should_accept_forward = lambda _s, _k, event: (
                event.session_id in olm.outgoing_key_requests)
            for asker, device in ((second, "SECOND"), (bo, bo.client.device_id)):
                await asker.client.to_device(ToDeviceMessage(
                    "m.room_key_request", bot_id, "WAYFINDER",
                    {"action": "request", "request_id": missed.session_id,
                     "requesting_device_id": device,
                     "body": {"algorithm": "m.megolm.v1.aes-sha2", "room_id": room,
                              "sender_key": missed.sender_key,
                              "session_id": missed.session_id}}))
            async with asyncio.timeout(20):
                while True:
                    with contextlib.suppress(Exception):
                        read = second.client.decrypt_event(missed)
                        break
                    await asyncio.sleep(0.2)
            assert read.body == first.body  # the reply, readable on the new device
            assert bot.adapter.keyshare.forwarded == 1
    finally:
        await bo.close()
        if second is not None:
            await second.close()
    said = [r.getMessage() for r in caplog.records]
    assert any("forwarded the room key" in line and "@ana:localhost's device SECOND" in line
               for line in said), said
    assert any("not forwarding the room key" in line and "@bo:localhost" in line and
               "they were not in the room when the session began" in line for line in said)


async def test_the_bots_device_is_cross_signed_with_keys_from_the_environment(
        synapse: Synapse, bot_id: str, ana: Person, sqlite_url: str, tmp_path: Path) -> None:
    """What ana's client reads of the bot: its master key, a self-signing key signed by it,
    and the bot's device signed by the self-signing key. A restart publishes nothing again;
    new keys replace them (with the password); a seed that is no key stops the adapter,
    naming the variable."""
    import base64
    import os

    import aiohttp
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from adapters.matrix.crosssign import canonical

    seeds = (base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(32)).decode())
    config = matrix_config(synapse, bot_id, tmp_path / "bot",
                           cross_signing_master_key_env="MX_MASTER",
                           cross_signing_self_signing_key_env="MX_SSK")
    async with running_bot(config, sqlite_url, cross_signing=seeds) as bot:
        assert bot.adapter.cross_signed[0].startswith("published the master key ")
        assert bot.adapter.cross_signed[1] == "signed device WAYFINDER"
    async with aiohttp.ClientSession() as http, http.post(
            f"{synapse.url}/_matrix/client/v3/keys/query",
            headers={"Authorization": f"Bearer {ana.client.access_token}"},
            json={"device_keys": {bot_id: []}}) as answer:
        keys = await answer.json()

    def verified(value: dict[str, Any], key: str) -> bool:
        signature = value["signatures"][bot_id][f"ed25519:{key}"]
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key + "=")).verify(
            base64.b64decode(signature + "=" * (-len(signature) % 4)), canonical(value))
        return True

    (master,) = keys["master_keys"][bot_id]["keys"].values()
    ssk_info = keys["self_signing_keys"][bot_id]
    (ssk,) = ssk_info["keys"].values()
    assert verified(ssk_info, master)
    assert verified(keys["device_keys"][bot_id]["WAYFINDER"], ssk)
    async with running_bot(config, sqlite_url, cross_signing=seeds) as bot:
        assert bot.adapter.cross_signed == []  # all there already
    # New keys replace published ones only with the password (user-interactive auth).
    # Both together: Synapse 1.163 answers 500 to a new master key over the old
    # self-signing key.
    rotated = (base64.b64encode(os.urandom(32)).decode(),
               base64.b64encode(os.urandom(32)).decode())
    async with running_bot(config, sqlite_url, cross_signing=rotated) as bot:
        assert bot.adapter.cross_signed[0].startswith("published the master key ")
    adapter = MatrixAdapter(config, BOT_PASSWORD, PICKLE_KEY, cross_signing=("short", seeds[1]))

    async def ignore(_inbound: object) -> Outcome:
        raise AssertionError("nothing can arrive")

    with pytest.raises(AdapterFatalError, match=r"\$MX_MASTER or \$MX_SSK: the cross-signing "
                                                r"master key is not 32 bytes in base64"):
        await adapter.run(ignore)
